package dev.splitllm.optimizer.cost;

import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.quantization.weights.WeightFormat;

/**
 * The number of drafts per round trip that minimises the expected per-token decode latency of a
 * split plan with a drafter: per-token ms = {@link LatencyModel#draftStep T_step(k)} / E(k) over
 * k in [0, maxK], k = 0 being the plain one-token step (ties keep the smaller k).
 *
 * @param k                  drafts per round trip (0: plain decode)
 * @param tokensPerRoundTrip E(k)
 * @param msPerToken         T_step(k) / E(k)
 */
public record DraftedDecode(int k, double tokensPerRoundTrip, double msPerToken) {

    /**
     * The best k for split {@code split} at {@code context} cached positions, with the calibration
     * point {@code point} of its codec (the split must cross the link).
     */
    public static DraftedDecode best(LatencyModel latency, PayloadModel payload, DraftProfile drafter, int split, WeightFormat qEdge,
                                     WeightFormat qCloud, CodecPoint point, int context) {
        DraftedDecode best = null;
        for (int k = 0; k <= drafter.maxK(); k++) {
            double step = latency.draftStep(split, qEdge, qCloud, point.codec(), payload.draftBits(point, k), context, k,
                    drafter.msPerDraft()).totalMs();
            double e = drafter.tokensPerRoundTrip(k);
            DraftedDecode d = new DraftedDecode(k, e, step / e);
            if (best == null || d.msPerToken() < best.msPerToken()) best = d;
        }
        return best;
    }
}
