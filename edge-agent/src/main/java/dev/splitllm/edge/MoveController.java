package dev.splitllm.edge;

import dev.splitllm.quantization.kv.KvSpec;

/**
 * Re-plans the cut from what the session measures ({@link MoveCostModel}) and what the app says
 * about memory ({@link #memoryBudget}), and proposes a move when it pays: the predicted saving per
 * token over the rest of the generation must exceed {@code hysteresis} times the move's own cost,
 * and a move must be at least {@code holdSteps} steps after the last one (no flapping).
 *
 * <p>Per token at split s the model predicts s × edge ms per block + (L − s) × cloud ms per block +
 * the round trip + the frame's bytes over the uplink; only the compute terms depend on s. A memory
 * budget below the edge's KV at the current split forces the deepest split that fits (freeing the
 * KV of the blocks handed to the cloud) whatever the latency.
 */
public final class MoveController {
    private final int minSplit;
    private final int maxSplit;
    private final double hysteresis;
    private final int holdSteps;
    private volatile long memoryBudgetBytes = Long.MAX_VALUE;

    /** A proposal: move to {@code split} because of {@code reason} ({@code adaptive} or {@code memory}). */
    public record Proposal(int split, String reason) {
    }

    /**
     * @param minSplit   the shallowest cut the controller may choose
     * @param maxSplit   the deepest (at most the edge model's reach)
     * @param hysteresis how many times the move's cost the predicted saving must be (≥ 1)
     * @param holdSteps  steps to stay at a cut after a move before the next
     */
    public MoveController(int minSplit, int maxSplit, double hysteresis, int holdSteps) {
        if (minSplit < 0 || maxSplit < minSplit || hysteresis < 1 || holdSteps < 0) {
            throw new IllegalArgumentException("need 0 <= minSplit <= maxSplit, hysteresis >= 1, holdSteps >= 0");
        }
        this.minSplit = minSplit;
        this.maxSplit = maxSplit;
        this.hysteresis = hysteresis;
        this.holdSteps = holdSteps;
    }

    /** Defaults: any cut the model holds, a saving twice the move's cost, 8 steps between moves. */
    public static MoveController defaults(int reach) {
        return new MoveController(0, reach, 2.0, 8);
    }

    /**
     * The app's memory signal (Android {@code onTrimMemory}): the edge's KV for this session must fit
     * in {@code bytes} from now on; {@link Long#MAX_VALUE} lifts the limit.
     */
    public void memoryBudget(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("memory budget must be >= 0");
        memoryBudgetBytes = bytes;
    }

    /** Predicted ms per token at split {@code s}, or NaN before the figures are measured. */
    public static double tokenMs(MoveCostModel c, int s, int layers) {
        double edge = c.edgeDecodeMsPerBlock(), cloud = c.cloudDecodeMsPerBlock();
        if (Double.isNaN(edge) || Double.isNaN(cloud)) return Double.NaN;
        return s * edge + (layers - s) * cloud + c.rttMs();
    }

    /**
     * A move to propose before the next step, or null to stay.
     *
     * @param kvBytesAt       the edge's KV bytes at a split (for the memory budget)
     * @param remainingTokens tokens still to generate
     * @param stepsSinceMove  steps since the last move (or since the prefill)
     */
    public Proposal decide(MoveCostModel c, KvSpec kind, int split, int layers, int positions, int promptLength, int kvDim,
                           java.util.function.IntToLongFunction kvBytesAt, int remainingTokens, long stepsSinceMove) {
        long budget = memoryBudgetBytes;
        if (kvBytesAt.applyAsLong(split) > budget) {
            int s = split;
            while (s > minSplit && kvBytesAt.applyAsLong(s) > budget) s--;
            if (s != split) return new Proposal(s, "memory");
        }
        if (stepsSinceMove < holdSteps || remainingTokens < 2) return null;
        double here = tokenMs(c, split, layers);
        if (Double.isNaN(here)) return null;
        Proposal best = null;
        double bestGain = 0;
        for (int s = minSplit; s <= maxSplit; s++) {
            if (s == split || s >= layers || kvBytesAt.applyAsLong(s) > budget) continue;
            double saving = (here - tokenMs(c, s, layers)) * remainingTokens;
            double cost = s < split ? c.upMs(kind, split, s, positions, kvDim)
                    : Math.min(c.downMs(kind, split, s, positions, kvDim), nanToInf(c.recomputeMs(s, positions, promptLength)));
            if (saving > hysteresis * cost && saving - cost > bestGain) {
                bestGain = saving - cost;
                best = new Proposal(s, "adaptive");
            }
        }
        return best;
    }

    private static double nanToInf(double x) {
        return Double.isNaN(x) ? Double.POSITIVE_INFINITY : x;
    }
}
