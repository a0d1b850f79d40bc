package dev.splitllm.quantization.wire;

import java.util.Arrays;

/**
 * The drafted tokens a DRAFT frame carries (docs/WIRE.md, "Draft frames"): k token ids the edge
 * guessed for the positions after the frame's first row, and, when the session samples, the
 * drafter's proposal distribution at each of those positions as a short sparse list (the drafted
 * token first, then the other tokens the drafter could have drawn, with their probabilities). The
 * cloud needs the whole proposal to resample exactly after a rejection; a proposal is the
 * drafter's distribution cut to at most {@link #MAX_PROPOSAL} tokens and renormalised, and the
 * edge draws the draft from exactly that list.
 */
public final class Draft {
    /** Most drafted tokens in one frame. */
    public static final int MAX_TOKENS = 16;
    /** Most entries of one position's proposal. */
    public static final int MAX_PROPOSAL = 8;
    /** Slack on a proposal's total probability (float sums). */
    static final double SUM_SLACK = 1e-3;

    private final int[] tokens;
    private final int[][] proposalTokens;
    private final float[][] proposalProbs;

    private Draft(int[] tokens, int[][] proposalTokens, float[][] proposalProbs) {
        this.tokens = tokens;
        this.proposalTokens = proposalTokens;
        this.proposalProbs = proposalProbs;
    }

    /** Greedy drafts: ids only. */
    public static Draft greedy(int[] tokens) {
        String why = check(tokens, null, null);
        if (why != null) throw new IllegalArgumentException(why);
        return new Draft(tokens.clone(), null, null);
    }

    /** Sampled drafts with the proposal each was drawn from ({@code ids[i][0] == tokens[i]}). */
    public static Draft sampled(int[] tokens, int[][] ids, float[][] probs) {
        String why = check(tokens, ids, probs);
        if (why != null) throw new IllegalArgumentException(why);
        int[][] i2 = new int[ids.length][];
        float[][] p2 = new float[probs.length][];
        for (int i = 0; i < ids.length; i++) {
            i2[i] = ids[i].clone();
            p2[i] = probs[i].clone();
        }
        return new Draft(tokens.clone(), i2, p2);
    }

    /**
     * Why these fields do not make a draft, or null: 1..{@link #MAX_TOKENS} ids >= 0; with
     * proposals, one per id of 1..{@link #MAX_PROPOSAL} distinct ids >= 0 whose first is the
     * drafted id, every probability finite in (0, 1], summing to at most 1.
     */
    static String check(int[] tokens, int[][] ids, float[][] probs) {
        if (tokens == null || tokens.length < 1 || tokens.length > MAX_TOKENS) {
            return "a draft holds 1.." + MAX_TOKENS + " tokens, got " + (tokens == null ? 0 : tokens.length);
        }
        for (int t : tokens) if (t < 0) return "drafted token id " + t + " is negative";
        if ((ids == null) != (probs == null)) return "proposal ids and probabilities come together";
        if (ids == null) return null;
        if (ids.length != tokens.length || probs.length != tokens.length) {
            return tokens.length + " drafted tokens but " + ids.length + " proposals";
        }
        for (int i = 0; i < ids.length; i++) {
            int[] id = ids[i];
            float[] p = probs[i];
            if (id == null || p == null || id.length < 1 || id.length > MAX_PROPOSAL || p.length != id.length) {
                return "proposal " + i + " must hold 1.." + MAX_PROPOSAL + " (token, probability) entries";
            }
            if (id[0] != tokens[i]) return "proposal " + i + " does not start with the drafted token " + tokens[i];
            double sum = 0;
            for (int j = 0; j < id.length; j++) {
                if (id[j] < 0) return "proposal " + i + " names token " + id[j];
                for (int k = 0; k < j; k++) if (id[k] == id[j]) return "proposal " + i + " names token " + id[j] + " twice";
                if (!(p[j] > 0f && p[j] <= 1f)) return "proposal " + i + " probability " + p[j] + " outside (0, 1]";
                sum += p[j];
            }
            if (sum > 1 + SUM_SLACK) return "proposal " + i + " probabilities sum to " + sum + " > 1";
        }
        return null;
    }

    /** k, the number of drafted tokens. */
    public int size() {
        return tokens.length;
    }

    public int token(int i) {
        return tokens[i];
    }

    /** A copy of the drafted ids. */
    public int[] tokens() {
        return tokens.clone();
    }

    /** True when the draft carries proposals (a sampling session). */
    public boolean sampled() {
        return proposalTokens != null;
    }

    /** Entries of position i's proposal. */
    public int proposalSize(int i) {
        return proposalTokens[i].length;
    }

    public int proposalToken(int i, int j) {
        return proposalTokens[i][j];
    }

    public float proposalProb(int i, int j) {
        return proposalProbs[i][j];
    }

    /** The largest token id named anywhere (for the receiver's vocabulary check). */
    public int maxTokenId() {
        int m = 0;
        for (int t : tokens) m = Math.max(m, t);
        if (proposalTokens != null) for (int[] id : proposalTokens) for (int t : id) m = Math.max(m, t);
        return m;
    }

    /** The first {@code n} drafts (1 <= n <= size()) with their proposals. */
    public Draft prefix(int n) {
        if (n < 1 || n > tokens.length) throw new IllegalArgumentException("prefix of " + n + " of " + tokens.length);
        return new Draft(Arrays.copyOf(tokens, n), proposalTokens == null ? null : Arrays.copyOf(proposalTokens, n),
                proposalProbs == null ? null : Arrays.copyOf(proposalProbs, n));
    }

    /** Bytes of this block on the wire: u8 k, u8 flags, u16 reserved, k i32 ids, then per proposal u8 n and n (i32, f32). */
    public int wireBytes() {
        int b = 4 + 4 * tokens.length;
        if (proposalTokens != null) for (int[] id : proposalTokens) b += 1 + 8 * id.length;
        return b;
    }

    @Override
    public String toString() {
        return "Draft" + Arrays.toString(tokens) + (sampled() ? " (sampled)" : "");
    }
}
