package dev.splitllm.edge;

import dev.splitllm.quantization.kv.KvSpec;

/**
 * Re-plans the cut from what the session measures ({@link MoveCostModel}) and what the app says
 * about memory ({@link #memoryBudget}), and proposes a move when it pays: the predicted saving per
 * token over the rest of the generation must exceed {@code hysteresis} times the move's own cost,
 * the saving per token must be at least {@code minGain} of the per-token time (smaller gains are
 * noise), and a move must be at least {@code holdSteps} steps after the last one (no flapping).
 *
 * <p>Per token at split s the model predicts s × edge ms per block + (L − s) × cloud ms per block +
 * the round trip + the mirror's bytes per token at s over the measured uplink (with a mirror, each
 * edge block adds its KV rows to the uplink: what makes a slow link favour a shallower cut). The
 * frame itself costs the same at every cut (one row of width d). A move toward the cloud costs the
 * KV of the positions the mirror does not hold yet. A memory
 * budget below the edge's KV at the current split forces the deepest split that fits (freeing the
 * KV of the blocks handed to the cloud) whatever the latency.
 */
public final class MoveController {
    private final int minSplit;
    private final int maxSplit;
    private final double hysteresis;
    private final int holdSteps;
    private final double minGain;
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
        this(minSplit, maxSplit, hysteresis, holdSteps, DEFAULT_MIN_GAIN);
    }

    /**
     * As above; {@code minGain} is the least saving per token worth a move, as a fraction of the
     * predicted per-token time at the current cut (a smaller one is within the noise of what the
     * session measures: a move for it would chase noise).
     */
    public MoveController(int minSplit, int maxSplit, double hysteresis, int holdSteps, double minGain) {
        if (minSplit < 0 || maxSplit < minSplit || hysteresis < 1 || holdSteps < 0 || !(minGain >= 0 && minGain < 1)) {
            throw new IllegalArgumentException("need 0 <= minSplit <= maxSplit, hysteresis >= 1, holdSteps >= 0, 0 <= minGain < 1");
        }
        this.minSplit = minSplit;
        this.maxSplit = maxSplit;
        this.hysteresis = hysteresis;
        this.holdSteps = holdSteps;
        this.minGain = minGain;
    }

    /** Default least gain per token worth a move: 10 % of the per-token time (step times on a busy device vary more). */
    public static final double DEFAULT_MIN_GAIN = 0.10;

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
        return tokenMs(c, s, layers, 0);
    }

    /** As above, with {@code mirrorBytesPerToken} more bytes per token going up (the mirror at split s). */
    public static double tokenMs(MoveCostModel c, int s, int layers, double mirrorBytesPerToken) {
        double edge = c.edgeDecodeMsPerBlock(), cloud = c.cloudDecodeMsPerBlock();
        if (Double.isNaN(edge) || Double.isNaN(cloud)) return Double.NaN;
        double up = c.upBytesPerMs();
        double mirror = mirrorBytesPerToken > 0 && up > 0 ? mirrorBytesPerToken / up : 0;
        return s * edge + (layers - s + c.headBlocks()) * cloud + c.rttMs() + mirror;
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
        return decide(c, kind, split, layers, positions, promptLength, kvDim, kvBytesAt, remainingTokens, stepsSinceMove,
                s -> 0, 0);
    }

    /**
     * As above with a mirror: {@code mirrorBytesPerToken} gives its bytes per token at each split, and
     * {@code mirrored} positions are on the cloud already (a move toward the cloud ships the rest).
     */
    public Proposal decide(MoveCostModel c, KvSpec kind, int split, int layers, int positions, int promptLength, int kvDim,
                           java.util.function.IntToLongFunction kvBytesAt, int remainingTokens, long stepsSinceMove,
                           java.util.function.IntToDoubleFunction mirrorBytesPerToken, int mirrored) {
        long budget = memoryBudgetBytes;
        if (kvBytesAt.applyAsLong(split) > budget) {
            int s = split;
            while (s > minSplit && kvBytesAt.applyAsLong(s) > budget) s--;
            if (s != split) return new Proposal(s, "memory");
        }
        if (stepsSinceMove < holdSteps || remainingTokens < 2) return null;
        double here = tokenMs(c, split, layers, mirrorBytesPerToken.applyAsDouble(split));
        if (Double.isNaN(here)) return null;
        Proposal best = null;
        double bestGain = 0;
        for (int s = minSplit; s <= maxSplit; s++) {
            if (s == split || s >= layers || kvBytesAt.applyAsLong(s) > budget) continue;
            double perToken = here - tokenMs(c, s, layers, mirrorBytesPerToken.applyAsDouble(s));
            if (perToken < minGain * here) continue;
            double saving = perToken * remainingTokens;
            double cost = s < split ? c.upMs(kind, split, s, Math.max(1, positions - mirrored), kvDim)
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
