package dev.splitllm.engine.draft;

/**
 * How many tokens to draft in the next step. With a per-draft acceptance rate α (the chance the
 * cloud keeps a draft, given it kept the ones before) a step of k drafts yields on average
 * E(k) = (1 - α^(k+1)) / (1 - α) tokens and costs one round trip plus k + 1 rows on each side and k
 * drafter calls. Adaptive mode picks the k in [0, max] with the most tokens per millisecond, from
 * running estimates of α, the round trip and the per-row and per-draft costs, measured step by
 * step; k = 0 is the plain protocol. A fixed k is used as given. Not thread-safe.
 */
public final class DraftPolicy {
    /** "auto". */
    public static final int AUTO = -1;
    /** Weight of the newest step in the running estimates. */
    private static final double DECAY = 0.2;

    private final int fixedK;
    private final int maxK;
    /** Acceptance: decayed counts of kept drafts and of drafts tried (kept + the first rejected), with a prior of 1 in 2. */
    private double kept = 1, tried = 2;
    private double roundTripMs = Double.NaN;
    private double rowMs = Double.NaN;
    private double draftMs = Double.NaN;
    /** Steps since the last one with drafts. */
    private int plainSteps;
    /** After this many plain steps in a row, adaptive mode tries one draft again. */
    static final int PROBE_EVERY = 16;

    /**
     * @param k    drafts per step, or {@link #AUTO}
     * @param maxK the most drafts a step may carry (the server's limit)
     */
    public DraftPolicy(int k, int maxK) {
        if (maxK < 0) throw new IllegalArgumentException("maxK must be >= 0");
        if (k != AUTO && k < 0) throw new IllegalArgumentException("k must be >= 0 or auto, got " + k);
        this.fixedK = k;
        this.maxK = maxK;
    }

    /** Parses "auto" or a count. */
    public static int parseK(String s) {
        if (s == null || s.equalsIgnoreCase("auto")) return AUTO;
        try {
            int k = Integer.parseInt(s.trim());
            if (k < 0) throw new IllegalArgumentException("--draft-k must be auto or a count >= 0, got " + s);
            return k;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--draft-k must be auto or a count >= 0, got " + s);
        }
    }

    public boolean adaptive() {
        return fixedK == AUTO;
    }

    /** Drafts for the next step, at most {@code room} (tokens still wanted or positions left). */
    public int nextK(int room) {
        int cap = Math.max(0, Math.min(maxK, room));
        if (!adaptive()) return Math.min(fixedK, cap);
        if (Double.isNaN(roundTripMs) || Double.isNaN(rowMs)) return Math.min(4, cap); // a first guess until measured
        if (plainSteps >= PROBE_EVERY) return Math.min(1, cap); // now and then, see whether drafting pays again
        double a = alpha(), draft = Double.isNaN(draftMs) ? 0 : draftMs;
        int best = 0;
        double bestRate = 0;
        for (int k = 0; k <= cap; k++) {
            double rate = tokensPerStep(a, k) / (roundTripMs + (k + 1) * rowMs + k * draft);
            if (rate > bestRate * 1.0001) {
                best = k;
                bestRate = rate;
            }
        }
        return best;
    }

    /**
     * Records a step: {@code drafted} drafts of which {@code accepted} were kept; the wall time of the
     * step without the rows' compute ({@code roundTripMs}: network and fixed costs), the compute per
     * row (edge blocks, encoding, cloud) and the drafter's time per draft.
     */
    public void record(int drafted, int accepted, double roundTripMs, double rowMs, double draftMsPerToken) {
        if (drafted > 0) {
            int tries = accepted + (accepted < drafted ? 1 : 0);
            kept = (1 - DECAY) * kept + accepted; // decayed counts: about the last five steps weigh most
            tried = (1 - DECAY) * tried + tries;
            plainSteps = 0;
        } else {
            plainSteps++;
            this.draftMs = ema(this.draftMs, draftMsPerToken);
        }
        this.roundTripMs = ema(this.roundTripMs, Math.max(0, roundTripMs));
        this.rowMs = ema(this.rowMs, Math.max(0, rowMs));
    }

    private static double ema(double old, double v) {
        return Double.isNaN(old) ? v : (1 - DECAY) * old + DECAY * v;
    }

    /** The running estimate of α. */
    public double alpha() {
        return Math.min(0.99, kept / tried);
    }

    /** E(k) = (1 - α^(k+1)) / (1 - α): expected tokens per step with k drafts. */
    public static double tokensPerStep(double alpha, int k) {
        if (alpha >= 1) return k + 1;
        return (1 - Math.pow(alpha, k + 1)) / (1 - alpha);
    }
}
