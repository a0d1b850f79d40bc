package dev.splitllm.optimizer.cost;

import dev.splitllm.engine.draft.DraftPolicy;
import java.util.Locale;

/**
 * What the planner knows of a drafter for speculation across the cut (greedy decoding): its
 * acceptance rate α (the chance the cloud keeps a draft given it kept the ones before, measured
 * offline by {@code eval.DraftAcceptance}), its time per drafted token on the edge, the bytes it
 * holds on the edge, and the most drafts a step may carry. A step of k drafts yields
 * {@link #tokensPerRoundTrip E(k)} = (1 - α^(k+1)) / (1 - α) tokens on average.
 *
 * @param name          the drafter's name ("model", "ngram", "exit-head", ...)
 * @param alpha         acceptance rate in [0, 1]
 * @param msPerDraft    edge time of one drafted token, ms
 * @param residentBytes bytes the drafter holds on the edge (weights, KV cache, tables)
 * @param maxK          most drafts per step (the server's limit), &gt;= 1
 */
public record DraftProfile(String name, double alpha, double msPerDraft, long residentBytes, int maxK) {
    /** The cloud's default limit on drafts per DRAFT frame. */
    public static final int DEFAULT_MAX_K = 8;
    /** The protocol's limit on drafts per DRAFT frame. */
    public static final int MAX_K = 16;

    public DraftProfile {
        if (name == null || name.isBlank() || name.length() > 64) {
            throw new IllegalArgumentException("draft profile: the drafter's name must be 1..64 characters");
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("draft profile: alpha must be in [0, 1], got " + alpha);
        }
        if (!(msPerDraft >= 0) || !Double.isFinite(msPerDraft)) {
            throw new IllegalArgumentException("draft profile: ms per draft must be finite and >= 0, got " + msPerDraft);
        }
        if (residentBytes < 0) {
            throw new IllegalArgumentException("draft profile: resident bytes must be >= 0, got " + residentBytes);
        }
        if (maxK < 1 || maxK > MAX_K) {
            throw new IllegalArgumentException("draft profile: max k must be in 1.." + MAX_K + ", got " + maxK);
        }
    }

    /** E(k): expected tokens per round trip with k drafts (1 for k = 0). */
    public double tokensPerRoundTrip(int k) {
        return DraftPolicy.tokensPerStep(alpha, k);
    }

    /** "model alpha=0.86 1.84 ms/draft 12.4 MB k<=8". */
    public String describe() {
        return String.format(Locale.ROOT, "%s alpha=%.2f %.2f ms/draft %.1f MB k<=%d", name, alpha, msPerDraft, residentBytes / 1e6, maxK);
    }
}
