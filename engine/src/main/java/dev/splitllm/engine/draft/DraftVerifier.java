package dev.splitllm.engine.draft;

import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.wire.Draft;

/**
 * The cloud's decision on a DRAFT frame: which drafted tokens to keep and which token follows.
 * Row i's logits (i = 0..k) predict the token after row i; draft i is the edge's guess for it.
 *
 * <ul>
 *   <li>Greedy: accept the longest prefix where the draft equals the argmax; the next token is the
 *       argmax after the last kept row (a correction, or a bonus when all k were kept). Exactly the
 *       tokens the plain one-token steps give.</li>
 *   <li>Sampling: standard speculative sampling. Draft i with proposal probability q(d) is kept with
 *       probability min(1, p(d)/q(d)); on the first rejection the next token is drawn from the
 *       residual max(0, p - q) renormalised; when all are kept, from p after the last row. The
 *       output is distributed exactly as the sampler's own p at every position.</li>
 * </ul>
 *
 * The uniforms of a sampling step come from a counter-based generator keyed by the session
 * sampler's state at the start of the step, and the sampler then advances by exactly one draw:
 * a step is reproducible (a resend or a replay gets the same answer) and the sampler's stream moves
 * the same way after a speculative step as after a plain one.
 */
public final class DraftVerifier {
    private final float[] p;
    private final float[] residual;

    /** Outcome: {@code accepted} drafts kept, then {@code next}. */
    public static final class Result {
        public final int accepted;
        public final int next;

        Result(int accepted, int next) {
            this.accepted = accepted;
            this.next = next;
        }
    }

    public DraftVerifier(int vocab) {
        this.p = new float[vocab];
        this.residual = new float[vocab];
    }

    /**
     * Verifies {@code draft} against {@code logits} (k + 1 rows of vocab floats, row-major) with the
     * session's {@code sampler}, which advances by one step's draw when sampling.
     */
    public Result verify(float[] logits, Draft draft, Sampler sampler) {
        int k = draft.size(), vocab = p.length;
        if (logits.length < (k + 1) * vocab) throw new IllegalArgumentException("need " + (k + 1) + " rows of logits");
        if (sampler.temperature() == 0f) {
            for (int i = 0; i < k; i++) {
                int best = argmax(logits, i * vocab, vocab);
                if (best != draft.token(i)) return new Result(i, best);
            }
            return new Result(k, argmax(logits, k * vocab, vocab));
        }
        if (!draft.sampled()) throw new IllegalArgumentException("a sampling session needs the drafter's proposals");
        long key = sampler.state();
        sampler.advance();
        float[] row = new float[vocab];
        for (int i = 0; i < k; i++) {
            System.arraycopy(logits, i * vocab, row, 0, vocab);
            sampler.distribution(row, p);
            int d = draft.token(i);
            float q = draft.proposalProb(i, 0);
            float u = uniform(key, 2 * i);
            if (u * q < p[d]) continue; // kept with probability min(1, p/q)
            // Rejected: draw from max(0, p - q) renormalised (q is zero off the proposal list).
            System.arraycopy(p, 0, residual, 0, vocab);
            for (int j = 0; j < draft.proposalSize(i); j++) {
                int t = draft.proposalToken(i, j);
                residual[t] = Math.max(0f, residual[t] - draft.proposalProb(i, j));
            }
            return new Result(i, draw(residual, uniform(key, 2 * i + 1)));
        }
        System.arraycopy(logits, k * vocab, row, 0, vocab);
        sampler.distribution(row, p);
        return new Result(k, draw(p, uniform(key, 2 * k)));
    }

    /** Inverse CDF of the (unnormalised, non-negative) weights at u in [0, 1). */
    static int draw(float[] w, float u) {
        double total = 0;
        for (float x : w) total += x;
        double target = u * total, cdf = 0;
        int last = 0;
        for (int i = 0; i < w.length; i++) {
            if (w[i] <= 0) continue;
            last = i;
            cdf += w[i];
            if (target < cdf) return i;
        }
        return last; // rounding
    }

    private static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[off + i] > x[off + best]) best = i;
        }
        return best;
    }

    /** Uniform in [0, 1) from (key, counter): splitmix64, 24 bits like the sampler's draws. */
    public static float uniform(long key, int counter) {
        long z = key + 0x9E3779B97F4A7C15L * (counter + 1L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 40) / 16777216.0f;
    }
}
