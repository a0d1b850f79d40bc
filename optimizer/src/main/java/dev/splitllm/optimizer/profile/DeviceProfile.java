package dev.splitllm.optimizer.profile;

import dev.splitllm.quantization.weights.WeightFormat;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one machine costs to run one model's blocks, per weight format: the "device profile"
 * of the profile → plan data contract (kept apart from link profiles, calibration tables,
 * solver and plan). JSON with {@code "schema": "splitllm.device-profile/1"}.
 *
 * @param schema     {@link #SCHEMA}
 * @param name       device label, e.g. "laptop-2c"
 * @param derived    true when the figures were scaled from another model, not measured
 * @param measuredOn free-form facts about where and how it was measured (cpu, threads, kernels, jvm, date, reps)
 * @param model      model the per-block costs belong to
 * @param formats    one entry per weight format measured
 * @param codec      codec timings ("*" = any codec); empty means codec cost is not known and counts as 0
 */
public record DeviceProfile(String schema, String name, boolean derived, Map<String, String> measuredOn, ModelShape model,
                            List<FormatProfile> formats, List<CodecTiming> codec) {
    public static final String SCHEMA = "splitllm.device-profile/1";

    public DeviceProfile {
        if (!SCHEMA.equals(schema)) {
            throw new IllegalArgumentException("device profile: schema must be \"" + SCHEMA + "\", got " + quote(schema));
        }
        if (name == null || name.isBlank() || name.length() > 128) {
            throw new IllegalArgumentException("device profile: name must be 1..128 characters");
        }
        if (model == null) {
            throw new IllegalArgumentException("device profile " + name + ": missing 'model'");
        }
        if (formats == null || formats.isEmpty() || formats.size() > WeightFormat.values().length) {
            throw new IllegalArgumentException("device profile " + name + ": needs 1.." + WeightFormat.values().length + " formats");
        }
        Set<WeightFormat> seen = new HashSet<>();
        for (FormatProfile f : formats) {
            if (f == null || !seen.add(f.weightFormat())) {
                throw new IllegalArgumentException("device profile " + name + ": duplicate or null format entry");
            }
        }
        codec = codec == null ? List.of() : List.copyOf(codec);
        if (codec.size() > 64) {
            throw new IllegalArgumentException("device profile " + name + ": at most 64 codec timings");
        }
        measuredOn = measuredOn == null ? Map.of() : Map.copyOf(measuredOn);
        formats = List.copyOf(formats);
    }

    static String quote(String s) {
        return s == null ? "nothing" : "\"" + s + "\"";
    }

    /** The profile of {@code f}, or null when it was not measured. */
    public FormatProfile format(WeightFormat f) {
        for (FormatProfile p : formats) {
            if (p.weightFormat() == f) return p;
        }
        return null;
    }

    /** Codec timing for {@code spec}: the exact entry, else the "*" entry, else {@link CodecTiming#free()}. */
    public CodecTiming codecTiming(String spec) {
        CodecTiming any = null;
        for (CodecTiming t : codec) {
            if (t.codec().equals(spec)) return t;
            if (t.codec().equals("*")) any = t;
        }
        return any != null ? any : CodecTiming.free();
    }

    /** A copy with other codec timings (e.g. after the codec probe ran). */
    public DeviceProfile withCodec(List<CodecTiming> timings) {
        return new DeviceProfile(schema, name, derived, measuredOn, model, formats, timings);
    }

    /** A copy with another name. */
    public DeviceProfile named(String newName) {
        return new DeviceProfile(schema, newName, derived, measuredOn, model, formats, codec);
    }
}
