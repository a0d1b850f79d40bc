package dev.splitllm.optimizer.solve;

import dev.splitllm.quantization.weights.WeightFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * One evaluated point of the grid: the decision (split, Q_w1, Q_w2, codec, maximum sequence
 * length, and the drafter when the plan speculates across the cut) and its predicted costs. For
 * an all-edge plan (split = L) the cloud format equals the edge format and the codec is "none".
 *
 * @param split            blocks on the edge, in [0, L]
 * @param edgeFormat       Q_w1
 * @param cloudFormat      Q_w2
 * @param codec            codec spec string, or "none"
 * @param seqLen           maximum sequence length (KV capacity)
 * @param edgeBytes        edge process memory (MemoryAccount total)
 * @param cloudBytes       cloud process memory (0 for all-edge)
 * @param ttftMs           time to first token for the request's prompt
 * @param msPerToken       decode latency per token at context seqLen - 1 (with a drafter: a round trip's / E(k))
 * @param prefillBitsPerElement calibrated bits per element of the prefill frame (0 for all-edge)
 * @param decodeBitsPerElement  calibrated bits per element of a decode frame (0 for all-edge)
 * @param agreement        predicted top-1 agreement (NaN if not calibrated)
 * @param meanKl           predicted mean KL (NaN if not calibrated)
 * @param deltaPpl         predicted perplexity increase (NaN if not calibrated)
 * @param violations       bit mask of violated {@link Constraint}s (0 = feasible)
 * @param order            enumeration rank, the last tie-breaker (lower first)
 * @param draft            the drafter's name, or null when the plan does not draft
 * @param draftK           drafts per round trip (0 without a drafter)
 * @param tokensPerRoundTrip expected tokens per decode round trip, E(k) (1 without a drafter)
 */
public record Candidate(int split, WeightFormat edgeFormat, WeightFormat cloudFormat, String codec, int seqLen, long edgeBytes,
                        long cloudBytes, double ttftMs, double msPerToken, double prefillBitsPerElement,
                        double decodeBitsPerElement, double agreement, double meanKl, double deltaPpl, int violations,
                        long order, String draft, int draftK, double tokensPerRoundTrip) {

    /** True when the plan speculates across the cut. */
    public boolean drafting() {
        return draft != null;
    }

    public boolean feasible() {
        return violations == 0;
    }

    public boolean violates(Constraint c) {
        return (violations & c.bit()) != 0;
    }

    /** The candidate's value for constraint {@code c}. */
    public double value(Constraint c) {
        switch (c) {
            case EDGE_MEMORY: return edgeBytes;
            case CLOUD_MEMORY: return cloudBytes;
            case MS_PER_TOKEN: return msPerToken;
            case TTFT: return ttftMs;
            case AGREEMENT: return agreement;
            case KL: return meanKl;
            case SEQ_LEN: return seqLen;
            default: throw new AssertionError(c);
        }
    }

    /** Violation mask of the given metrics under {@code limits}. */
    static int violations(Limits limits, long edgeBytes, long cloudBytes, double ttft, double msPerToken, double agreement,
                          double kl, int seqLen) {
        int v = 0;
        if (edgeBytes > limits.edgeMemoryBytes()) v |= Constraint.EDGE_MEMORY.bit();
        if (cloudBytes > limits.cloudMemoryBytes()) v |= Constraint.CLOUD_MEMORY.bit();
        if (!(msPerToken <= limits.maxMsPerToken())) v |= Constraint.MS_PER_TOKEN.bit();
        if (!(ttft <= limits.maxTtftMs())) v |= Constraint.TTFT.bit();
        if (limits.bounded(Constraint.AGREEMENT) && !(agreement >= limits.minAgreement())) v |= Constraint.AGREEMENT.bit();
        if (limits.bounded(Constraint.KL) && !(kl <= limits.maxKl())) v |= Constraint.KL.bit();
        if (seqLen < limits.minSeqLen()) v |= Constraint.SEQ_LEN.bit();
        return v;
    }

    /** The violated constraints in declaration order. */
    public List<Constraint> violated() {
        List<Constraint> out = new ArrayList<>();
        for (Constraint c : Constraint.values()) {
            if (violates(c)) out.add(c);
        }
        return out;
    }

    /** "split 3, q4_0/f32, codec ts:..., seq 256". */
    public String describe() {
        return "split " + split + ", " + edgeFormat.id() + "/" + cloudFormat.id() + ", codec " + codec + ", seq " + seqLen;
    }

    /** " draft=model k=4" for a drafting candidate, " draft=none k=0" for a plain one. */
    public String draftFields() {
        return " draft=" + (drafting() ? draft : "none") + " k=" + draftK;
    }
}
