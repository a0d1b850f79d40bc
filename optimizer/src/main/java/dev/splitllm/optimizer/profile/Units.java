package dev.splitllm.optimizer.profile;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one grammar for sizes, rates and durations on every command line ({@code serve},
 * {@code edge}, {@code plan}, {@code profile}, ...). A value is an unsigned decimal number
 * ({@code 48}, {@code 1.5}, {@code 2e6}), optional blanks, then a unit:
 *
 * <ul>
 *   <li><b>Sizes</b> ({@link #parseBytes}): {@code B} or none = bytes; {@code KB MB GB TB} are
 *       decimal (10^3, 10^6, 10^9, 10^12); {@code KiB MiB GiB TiB} are binary (2^10 ... 2^40).
 *       Case-insensitive ({@code 48mb} = {@code 48MB}): a size has no bit units, so case cannot
 *       change its meaning. A bare prefix ({@code 512M}) is rejected: write MB or MiB.
 *   <li><b>Rates</b> ({@link #parseRate}, bit/s): none or {@code bit} = bit/s; {@code kbit mbit
 *       gbit tbit} = 10^3 ... 10^12 bit/s (the {@code tc} spelling, case-insensitive), optionally
 *       followed by {@code /s}. Byte rates: {@code B/s KB/s MB/s GB/s} (decimal) and {@code KiB/s
 *       MiB/s GiB/s} (binary) times 8; their {@code B} must be upper-case. {@code mb/s},
 *       {@code Mb/s}, {@code mbps} and the like are rejected: whether they mean bits or bytes
 *       depends on who wrote them.
 *   <li><b>Durations</b> ({@link #parseMillis}, {@link #parseDuration}): {@code us}, {@code ms},
 *       {@code s}, {@code min}, {@code h}, case-insensitive. A bare {@code m} is rejected (minutes
 *       or milliseconds?), as is a bare number other than 0 (one tool read it as seconds, another
 *       as milliseconds).
 * </ul>
 *
 * Every parser rejects negative, non-finite or out-of-range input with a message that names the
 * text and the accepted forms.
 */
public final class Units {
    private Units() {}

    private static final Pattern NUMBER_UNIT = Pattern.compile("^\\s*([0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\\s*([a-zA-Z/]*)\\s*$");

    /** Largest accepted rate: 10 Tbit/s. */
    public static final double MAX_RATE = 1e13;
    /** Largest accepted latency ({@link #parseMillis}): one hour. */
    public static final double MAX_MS = 3_600_000;
    /** Largest accepted timeout ({@link #parseDuration}): one day. */
    public static final double MAX_DURATION_MS = 24 * MAX_MS;
    /** Largest accepted size: 1 PB. */
    public static final double MAX_BYTES = 1e15;

    static final String SIZE_FORMS = "a number then B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024),"
            + " e.g. 48MB, 1.5GiB, 4096";
    static final String RATE_FORMS = "a number then bit, kbit, mbit, gbit (bit/s, optional /s) or B/s, KB/s, MB/s, GB/s, KiB/s,"
            + " MiB/s, GiB/s (bytes per second), e.g. 10mbit, 2.5MB/s";
    static final String DURATION_FORMS = "a number then us, ms, s, min or h, e.g. 250us, 40ms, 1.5s, 5min, 2h";

    /** A rate in bits per second. */
    public static double parseRate(String text) {
        Matcher m = match(text, "rate", RATE_FORMS);
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2);
        double mul = rateMultiplier(unit, text, v);
        double r = v * mul;
        if (!(r > 0) || r > MAX_RATE) {
            throw new IllegalArgumentException("rate '" + text + "' must be > 0 and at most 10 Tbit/s (got " + r + " bit/s)");
        }
        return r;
    }

    private static double rateMultiplier(String unit, String text, double v) {
        String u = unit.toLowerCase(Locale.ROOT);
        String bits = u.endsWith("/s") ? u.substring(0, u.length() - 2) : u;
        switch (bits) {
            case "": if (!u.isEmpty()) break; return 1; // "/s" alone is not a unit
            case "bit": return 1;
            case "kbit": return 1e3;
            case "mbit": return 1e6;
            case "gbit": return 1e9;
            case "tbit": return 1e12;
            default: break;
        }
        // Bytes per second: the B must be upper-case, the prefix letter may be either.
        if (unit.endsWith("B/s")) {
            switch (u) {
                case "b/s": return 8;
                case "kb/s": return 8e3;
                case "mb/s": return 8e6;
                case "gb/s": return 8e9;
                case "kib/s": return 8.0 * (1L << 10);
                case "mib/s": return 8.0 * (1L << 20);
                case "gib/s": return 8.0 * (1L << 30);
                default: break;
            }
        }
        if (u.matches("[kmgt]?i?(b/s|bps)")) {
            String n = number(v), p = u.matches("[kmgt].*") ? u.substring(0, 1) : "";
            String bitUnit = p + "bit", byteUnit = p.toUpperCase(Locale.ROOT) + (u.contains("i") ? "iB/s" : "B/s");
            throw new IllegalArgumentException("unknown rate unit '" + unit + "' in '" + text + "': bits or bytes? write "
                    + n + bitUnit + " for bits per second or " + n + byteUnit + " for bytes per second (" + RATE_FORMS + ")");
        }
        throw new IllegalArgumentException("unknown rate unit '" + unit + "' in '" + text + "' (expected " + RATE_FORMS + ")");
    }

    /** A latency in milliseconds, in [0, 1h] ("50ms", "1.5s", "250us"). */
    public static double parseMillis(String text) {
        double ms = millis(text);
        if (ms > MAX_MS) {
            throw new IllegalArgumentException("duration '" + text + "' must be in [0, 1h]");
        }
        return ms;
    }

    /** A timeout, in [0, 24h], rounded to the millisecond ("30s", "5min", "2h"). */
    public static Duration parseDuration(String text) {
        double ms = millis(text);
        if (ms > MAX_DURATION_MS) {
            throw new IllegalArgumentException("duration '" + text + "' must be in [0, 24h]");
        }
        return Duration.ofMillis(Math.round(ms));
    }

    private static double millis(String text) {
        Matcher m = match(text, "duration", DURATION_FORMS);
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2);
        String n = number(v);
        switch (unit.toLowerCase(Locale.ROOT)) {
            case "us": return v / 1000;
            case "ms": return v;
            case "s": return v * 1000;
            case "min": return v * 60_000;
            case "h": return v * 3_600_000;
            case "":
                if (v == 0) return 0;
                throw new IllegalArgumentException("duration '" + text + "' has no unit: write " + n + "ms or " + n
                        + "s (" + DURATION_FORMS + ")");
            case "m":
                throw new IllegalArgumentException("ambiguous duration unit 'm' in '" + text + "': write " + n
                        + "min for minutes or " + n + "ms for milliseconds");
            default:
                throw new IllegalArgumentException("unknown duration unit '" + unit + "' in '" + text + "' (expected "
                        + DURATION_FORMS + ")");
        }
    }

    /** A size in bytes, in (0, 1 PB] ("48MB" decimal, "48MiB" binary, "1GB", "4096"). */
    public static long parseBytes(String text) {
        Matcher m = match(text, "size", SIZE_FORMS);
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2);
        double mul;
        switch (unit.toLowerCase(Locale.ROOT)) {
            case "": case "b": mul = 1; break;
            case "kb": mul = 1e3; break;
            case "mb": mul = 1e6; break;
            case "gb": mul = 1e9; break;
            case "tb": mul = 1e12; break;
            case "kib": mul = 1L << 10; break;
            case "mib": mul = 1L << 20; break;
            case "gib": mul = 1L << 30; break;
            case "tib": mul = 1L << 40; break;
            case "k": case "m": case "g": case "t": case "ki": case "mi": case "gi": case "ti": {
                String p = unit.substring(0, 1).toUpperCase(Locale.ROOT), n = number(v);
                throw new IllegalArgumentException("unknown size unit '" + unit + "' in '" + text + "': write " + n + p
                        + "B (powers of 1000) or " + n + p + "iB (powers of 1024)");
            }
            default:
                throw new IllegalArgumentException("unknown size unit '" + unit + "' in '" + text + "' (expected "
                        + SIZE_FORMS + ")");
        }
        double b = v * mul;
        if (!(b > 0) || b > MAX_BYTES) {
            throw new IllegalArgumentException("size '" + text + "' must be > 0 and at most 1 PB");
        }
        return Math.round(b);
    }

    /** "10 Mbit/s"-style text for a rate in bit/s. */
    public static String formatRate(double bps) {
        if (bps >= 1e9) return trim(bps / 1e9) + " Gbit/s";
        if (bps >= 1e6) return trim(bps / 1e6) + " Mbit/s";
        if (bps >= 1e3) return trim(bps / 1e3) + " kbit/s";
        return trim(bps) + " bit/s";
    }

    /** Bytes as MB (10^6) with one decimal, e.g. "61.2 MB". */
    public static String formatMB(double bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private static String trim(double v) {
        String s = String.format(Locale.ROOT, "%.3f", v);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    /** The number as the user would write it again in a suggestion ("5", "1.5"). */
    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : trim(v);
    }

    private static Matcher match(String text, String what, String forms) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty " + what + " (expected " + forms + ")");
        }
        if (text.length() > 64) {
            throw new IllegalArgumentException(what + " text too long (" + text.length() + " characters)");
        }
        Matcher m = NUMBER_UNIT.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("cannot parse " + what + " '" + text + "' (expected " + forms + ")");
        }
        return m;
    }
}
