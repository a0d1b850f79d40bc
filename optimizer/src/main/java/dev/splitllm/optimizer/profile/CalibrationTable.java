package dev.splitllm.optimizer.profile;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Payload and quality per (split layer, codec setting), plus whole-model quality per weight
 * format: the calibration part of the profile → plan contract. JSON with
 * {@code "schema": "splitllm.calibration/1"}.
 *
 * @param schema             {@link #SCHEMA}
 * @param model              model it was measured on
 * @param derived            true when mapped from another model's table, not measured
 * @param source             free-form facts (text, tokens, codec implementation, date)
 * @param frameOverheadBytes bytes each frame adds beyond the per-element bits (header, checksum)
 * @param points             (split, codec) points; at most one per pair
 * @param weights            per-format quality of the unsplit model; F32 may be absent (it is the reference)
 */
public record CalibrationTable(String schema, ModelShape model, boolean derived, Map<String, String> source, int frameOverheadBytes,
                               List<CodecPoint> points, List<WeightQuality> weights) {
    public static final String SCHEMA = "splitllm.calibration/1";
    public static final int MAX_POINTS = 1 << 16;

    public CalibrationTable {
        if (!SCHEMA.equals(schema)) {
            throw new IllegalArgumentException("calibration table: schema must be \"" + SCHEMA + "\", got " + DeviceProfile.quote(schema));
        }
        if (model == null) {
            throw new IllegalArgumentException("calibration table: missing 'model'");
        }
        if (frameOverheadBytes < 0 || frameOverheadBytes > 1 << 20) {
            throw new IllegalArgumentException("calibration table: frameOverheadBytes must be in [0, 1 MiB], got " + frameOverheadBytes);
        }
        if (points == null || points.size() > MAX_POINTS) {
            throw new IllegalArgumentException("calibration table: needs a 'points' list of at most " + MAX_POINTS + " entries");
        }
        Set<String> keys = new HashSet<>();
        for (CodecPoint p : points) {
            if (p == null) throw new IllegalArgumentException("calibration table: null point");
            if (p.split() >= model.nLayers()) {
                throw new IllegalArgumentException("calibration table: point at split " + p.split() + " but the model has only "
                        + model.nLayers() + " layers (a cut needs a cloud block after it)");
            }
            if (!keys.add(p.split() + "\u0000" + p.codec())) {
                throw new IllegalArgumentException("calibration table: two points for split " + p.split() + " and codec " + p.codec());
            }
        }
        weights = weights == null ? List.of() : List.copyOf(weights);
        Set<String> wf = new HashSet<>();
        for (WeightQuality w : weights) {
            if (!wf.add(w.weightFormat().id())) {
                throw new IllegalArgumentException("calibration table: two weight-quality entries for " + w.format());
            }
        }
        source = source == null ? Map.of() : Map.copyOf(source);
        points = List.copyOf(points);
    }

    /** The point for (split, codec), or null. */
    public CodecPoint point(int split, String codec) {
        for (CodecPoint p : points) {
            if (p.split() == split && p.codec().equals(codec)) return p;
        }
        return null;
    }

    /** Codec specs in first-seen order. */
    public List<String> codecs() {
        Set<String> s = new LinkedHashSet<>();
        for (CodecPoint p : points) s.add(p.codec());
        return new ArrayList<>(s);
    }

    /** Whole-model quality at {@code format}: F32 is the reference (agreement 1, KL 0) unless measured; null when unknown. */
    public WeightQuality weight(dev.splitllm.quantization.weights.WeightFormat format) {
        for (WeightQuality w : weights) {
            if (w.weightFormat() == format) return w;
        }
        if (format == dev.splitllm.quantization.weights.WeightFormat.F32) {
            return new WeightQuality("f32", 1, 0, 0);
        }
        return null;
    }
}
