package dev.splitllm.optimizer.profile;

/**
 * The edge ↔ cloud link: uplink and downlink rates and round-trip time. JSON with
 * {@code "schema": "splitllm.link-profile/1"}.
 *
 * @param schema       {@link #SCHEMA}
 * @param name         label, e.g. "wifi" or "10mbit-50ms"
 * @param uplinkBps    edge → cloud, bit/s
 * @param downlinkBps  cloud → edge, bit/s
 * @param rttMs        round trip, ms (the latency model charges half each way)
 * @param source       "given" (flags) or "probe" (measured by a {@link LinkProbe})
 */
public record LinkProfile(String schema, String name, double uplinkBps, double downlinkBps, double rttMs, String source) {
    public static final String SCHEMA = "splitllm.link-profile/1";

    public LinkProfile {
        if (!SCHEMA.equals(schema)) {
            throw new IllegalArgumentException("link profile: schema must be \"" + SCHEMA + "\", got " + DeviceProfile.quote(schema));
        }
        if (name == null || name.isBlank() || name.length() > 128) {
            throw new IllegalArgumentException("link profile: name must be 1..128 characters");
        }
        if (!(uplinkBps > 0) || uplinkBps > Units.MAX_RATE || !(downlinkBps > 0) || downlinkBps > Units.MAX_RATE) {
            throw new IllegalArgumentException("link profile " + name + ": rates must be in (0, 1e13] bit/s, got up " + uplinkBps
                    + ", down " + downlinkBps);
        }
        if (!(rttMs >= 0) || rttMs > Units.MAX_MS) {
            throw new IllegalArgumentException("link profile " + name + ": rttMs must be in [0, 3600000], got " + rttMs);
        }
        if (!"given".equals(source) && !"probe".equals(source)) {
            throw new IllegalArgumentException("link profile " + name + ": source must be given or probe, got " + source);
        }
    }

    /** From the {@code --uplink/--downlink/--rtt} flags, e.g. ("10mbit", "50mbit", "40ms"). */
    public static LinkProfile parse(String uplink, String downlink, String rtt) {
        double up = Units.parseRate(uplink), down = Units.parseRate(downlink), r = Units.parseMillis(rtt);
        return new LinkProfile(SCHEMA, uplink.trim() + "/" + downlink.trim() + "/" + rtt.trim(), up, down, r, "given");
    }

    /** A link with the given rates and RTT. */
    public static LinkProfile of(String name, double uplinkBps, double downlinkBps, double rttMs) {
        return new LinkProfile(SCHEMA, name, uplinkBps, downlinkBps, rttMs, "given");
    }

    /** Milliseconds to push {@code bits} up the link (transfer only, no RTT). */
    public double uplinkMs(double bits) {
        return bits / uplinkBps * 1000.0;
    }

    /** Milliseconds to push {@code bits} down the link. */
    public double downlinkMs(double bits) {
        return bits / downlinkBps * 1000.0;
    }

    /** "up 10 Mbit/s, down 50 Mbit/s, RTT 40 ms". */
    public String describe() {
        return "up " + Units.formatRate(uplinkBps) + ", down " + Units.formatRate(downlinkBps) + ", RTT "
                + String.format(java.util.Locale.ROOT, "%.1f ms", rttMs);
    }
}
