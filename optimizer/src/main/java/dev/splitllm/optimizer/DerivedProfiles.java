package dev.splitllm.optimizer;

import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.CodecTiming;
import dev.splitllm.optimizer.profile.Curve;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.FormatProfile;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.quantization.weights.WeightFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Profiles for a model that was not measured, scaled from a measured one's per-parameter and
 * per-byte costs. Everything produced is labelled {@code "derived": true}; it is an estimate for
 * planning, never a measurement. Scaling rules, per weight format:
 *
 * <ul>
 *   <li>prefill per block: × (target block parameters / source block parameters) — prefill is
 *       compute-bound; the attention term (quadratic in T) is not scaled separately;</li>
 *   <li>decode per block: the measured curve is fitted as a + b·c (least squares over the
 *       measured contexts, b ≥ 0); a (weight streaming, memory-bound) × block-bytes ratio, b
 *       (attention over c cached positions) × d ratio; evaluated at contexts up to the target's
 *       seq_len;</li>
 *   <li>head × classifier-bytes ratio; embedding lookup and codec times × d ratio;</li>
 *   <li>resident bytes: the engine's {@link MemoryAccount} of the target (whole model, seq_len, batch 1);</li>
 *   <li>calibration: each target split takes the (split, codec) points of the source split at the
 *       nearest relative depth; per-format weight quality is copied.</li>
 * </ul>
 */
public final class DerivedProfiles {
    private DerivedProfiles() {}

    /** The shape of Llama-3.2-1B: d 2048, hidden 8192, 16 layers, 32 heads, 8 KV heads, vocab 128256, seq 131072, tied head. */
    public static ModelShape llama32_1b() {
        return new ModelShape("llama-3.2-1b-shape", 2048, 8192, 16, 32, 8, 128256, 131072, true);
    }

    /** {@code src} scaled to {@code target}. */
    public static DeviceProfile scale(DeviceProfile src, ModelShape target) {
        LlamaConfig s = src.model().toConfig(), t = target.toConfig();
        double dRatio = (double) t.dim() / s.dim();
        double pRatio = (double) t.blockParameters() / s.blockParameters();
        List<FormatProfile> formats = new ArrayList<>();
        for (FormatProfile fp : src.formats()) {
            WeightFormat f = fp.weightFormat();
            if (t.dim() % f.blockSize != 0 || t.hiddenDim() % f.blockSize != 0) continue;
            MemoryAccount ms = new MemoryAccount(s, PrecisionPlan.uniform(f)), mt = new MemoryAccount(t, PrecisionPlan.uniform(f));
            double bRatio = (double) mt.blockBytes(f) / ms.blockBytes(f);
            double headRatio = (double) MemoryAccount.matrixBytes(t.vocabSize(), t.dim(), f) / MemoryAccount.matrixBytes(s.vocabSize(), s.dim(), f);
            double[] ab = fitLine(fp.decodeLayerMs());
            double a = Math.max(0, ab[0]) * bRatio, b = Math.max(0, ab[1]) * dRatio;
            List<Double> ctx = new ArrayList<>();
            for (long c = 32; c < t.seqLen(); c *= 4) ctx.add((double) c);
            ctx.add((double) t.seqLen() - 1);
            double[] xs = ctx.stream().mapToDouble(Double::doubleValue).distinct().sorted().toArray();
            double[] ys = new double[xs.length];
            for (int i = 0; i < xs.length; i++) ys[i] = a + b * xs[i];
            formats.add(new FormatProfile(fp.format(), fp.prefillLayerMs().scaled(pRatio), new Curve(xs, ys), fp.headMs() * headRatio,
                    fp.embedMsPerToken() * dRatio, mt.whole(t.seqLen(), 1).totalBytes()));
        }
        if (formats.isEmpty()) {
            throw new IllegalArgumentException("no format of " + src.name() + " fits the block size of " + target.describe());
        }
        List<CodecTiming> codec = new ArrayList<>();
        for (CodecTiming ct : src.codec()) {
            codec.add(new CodecTiming(ct.codec(), ct.encodeMs().scaled(dRatio), ct.decodeMs().scaled(dRatio), "derived"));
        }
        Map<String, String> on = new LinkedHashMap<>(src.measuredOn());
        on.put("derivedFrom", src.name() + " measured on " + src.model().name() + " (" + src.model().describe() + ")");
        on.put("derivation", "prefill x block-parameter ratio " + fmt(pRatio) + "; decode a + b*c fit, a x block-bytes ratio, b x d ratio "
                + fmt(dRatio) + "; head x classifier-bytes ratio; codec x d ratio");
        return new DeviceProfile(DeviceProfile.SCHEMA, src.name() + "-derived-" + target.name(), true, on, target, formats, codec);
    }

    /** {@code src} mapped to {@code target}'s layers by relative depth. */
    public static CalibrationTable scale(CalibrationTable src, ModelShape target) {
        int ls = src.model().nLayers(), lt = target.nLayers();
        List<CodecPoint> points = new ArrayList<>();
        for (int split = 0; split < lt; split++) {
            int from = (int) Math.min(ls - 1, Math.round((double) split * ls / lt));
            for (CodecPoint p : src.points()) {
                if (p.split() == from) {
                    points.add(new CodecPoint(split, p.codec(), p.prefillBitsPerElement(), p.decodeBitsPerElement(), p.agreement(),
                            p.meanKl(), p.deltaPpl()));
                }
            }
        }
        Map<String, String> source = new LinkedHashMap<>(src.source());
        source.put("derivedFrom", "calibration of " + src.model().name() + ", split l mapped from round(l * " + ls + " / " + lt + ")");
        return new CalibrationTable(CalibrationTable.SCHEMA, target, true, source, src.frameOverheadBytes(), points, src.weights());
    }

    /** Least-squares (intercept, slope) of a curve. */
    static double[] fitLine(Curve c) {
        double[] x = c.x(), y = c.y();
        int n = x.length;
        if (n == 1) return new double[] {y[0], 0};
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) {
            mx += x[i];
            my += y[i];
        }
        mx /= n;
        my /= n;
        double sxy = 0, sxx = 0;
        for (int i = 0; i < n; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
        }
        double b = Math.max(0, sxy / sxx);
        return new double[] {my - b * mx, b};
    }

    private static String fmt(double v) {
        return String.format(java.util.Locale.ROOT, "%.2f", v);
    }
}
