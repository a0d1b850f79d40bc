package dev.splitllm.optimizer.cost;

import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.WeightQuality;
import dev.splitllm.quantization.weights.WeightFormat;

/**
 * Quality of a plan from the calibration table: the codec's measured loss at (split, codec)
 * (measured with F32 weights), plus the weight formats' measured whole-model losses, each
 * weighted by the fraction of blocks stored at that format:
 *
 * <pre>
 *   agreement = a_codec - (l/L)(1 - a_w(Q_w1)) - ((L-l)/L)(1 - a_w(Q_w2))      (clamped to [0, 1])
 *   KL        = KL_codec + (l/L) KL_w(Q_w1) + ((L-l)/L) KL_w(Q_w2)
 *   dPPL      = dPPL_codec + (l/L) dPPL_w(Q_w1) + ((L-l)/L) dPPL_w(Q_w2)
 * </pre>
 *
 * An additive first-order model (losses are small and nearly independent); it is a lookup, not
 * a measurement of the combination. All-edge plans (l = L) have no codec term. A weight format
 * the table does not cover makes the quality unknown (NaN), which fails any quality floor.
 */
public final class QualityModel {
    private final CalibrationTable table;
    private final int layers;

    private final java.util.EnumMap<WeightFormat, WeightQuality> weights = new java.util.EnumMap<>(WeightFormat.class);

    public QualityModel(CalibrationTable table, int layers) {
        this.table = table;
        this.layers = layers;
        for (WeightFormat f : WeightFormat.values()) {
            WeightQuality w = table.weight(f);
            if (w != null) weights.put(f, w);
        }
    }

    /** Quality of (split, Q_w1, Q_w2) with codec {@code point} (null for l = L). */
    public Quality estimate(int split, WeightFormat edge, WeightFormat cloud, CodecPoint point) {
        double fe = (double) split / layers, fc = 1 - fe;
        WeightQuality we = fe > 0 ? weights.get(edge) : null;
        WeightQuality wc = fc > 0 ? weights.get(cloud) : null;
        if ((fe > 0 && we == null) || (fc > 0 && wc == null)) {
            return Quality.UNKNOWN;
        }
        double a = point == null ? 1 : point.agreement();
        double kl = point == null ? 0 : point.meanKl();
        double ppl = point == null ? 0 : point.deltaPpl();
        if (we != null) {
            a -= fe * (1 - we.agreement());
            kl += fe * we.meanKl();
            ppl += fe * we.deltaPpl();
        }
        if (wc != null) {
            a -= fc * (1 - wc.agreement());
            kl += fc * wc.meanKl();
            ppl += fc * wc.deltaPpl();
        }
        return new Quality(Math.max(0, Math.min(1, a)), kl, ppl);
    }
}
