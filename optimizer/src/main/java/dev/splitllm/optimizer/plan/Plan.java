package dev.splitllm.optimizer.plan;

import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.quantization.weights.WeightFormat;
import java.util.Map;

/**
 * The planner's decision as the runtime consumes it ({@code plan.json}, schema
 * {@link #SCHEMA}): where to cut, at which weight formats, with which codec setting and KV
 * capacity, whether to speculate across the cut (drafter and drafts per round trip), what that
 * was predicted to cost, and fingerprints of the inputs it came from. The constructor rejects
 * inconsistent plans (see {@link PlanFile} for the file checks; the draft fields are optional
 * there, so plans written before them still read).
 *
 * @param schema           {@link #SCHEMA}
 * @param model            the model planned for
 * @param derived          true when any input was derived rather than measured
 * @param split            blocks on the edge, in [0, L]
 * @param edgeFormat       Q_w1 (blocks [0, split) and the embedding)
 * @param cloudFormat      Q_w2 (blocks [split, L) and the classifier); equals Q_w1 when split = L
 * @param codec            codec spec string; "none" exactly when split = L
 * @param maxSeqLen        KV capacity (prompt + generated tokens)
 * @param promptTokens     prompt length the TTFT was predicted for
 * @param objective        objective id
 * @param draft            the drafter's name ("model", "ngram", ...), or null when the plan does not speculate
 * @param draftK           drafts per round trip: 0 exactly when {@code draft} is null
 * @param predicted        predicted costs
 * @param inputs           "edgeProfile", "cloudProfile", "link", "calibration" → "sha256:..." of each input
 */
public record Plan(String schema, ModelShape model, boolean derived, int split, String edgeFormat, String cloudFormat, String codec,
                   int maxSeqLen, int promptTokens, String objective, String draft, int draftK, Predicted predicted,
                   Map<String, String> inputs) {
    /** Most drafts per round trip a plan may name (the DRAFT frame's limit). */
    public static final int MAX_DRAFT_K = 16;
    public static final String SCHEMA = "splitllm.plan/1";
    /** Inputs every plan names. */
    public static final String[] INPUTS = {"edgeProfile", "cloudProfile", "link", "calibration"};

    /**
     * Predicted costs. Quality fields are null when not calibrated.
     *
     * @param edgeBytes             edge process memory
     * @param cloudBytes            cloud process memory
     * @param ttftMs                time to first token
     * @param msPerToken            decode latency per token at the last position (with a drafter: a round trip's / tokensPerRoundTrip)
     * @param prefillBitsPerElement wire bits per element, prefill
     * @param decodeBitsPerElement  wire bits per element, decode
     * @param agreement             top-1 agreement, or null
     * @param meanKl                mean KL, or null
     * @param deltaPpl              perplexity increase, or null
     * @param tokensPerRoundTrip    expected tokens per decode round trip, E(k) (1 without a drafter)
     */
    public record Predicted(long edgeBytes, long cloudBytes, double ttftMs, double msPerToken, double prefillBitsPerElement,
                            double decodeBitsPerElement, Double agreement, Double meanKl, Double deltaPpl, double tokensPerRoundTrip) {
        public Predicted {
            if (edgeBytes < 0 || cloudBytes < 0) {
                throw new IllegalArgumentException("predicted memory must be >= 0, got edge " + edgeBytes + ", cloud " + cloudBytes);
            }
            for (double v : new double[] {ttftMs, msPerToken, prefillBitsPerElement, decodeBitsPerElement}) {
                if (!(v >= 0) || !Double.isFinite(v)) {
                    throw new IllegalArgumentException("predicted latencies and bits must be finite and >= 0");
                }
            }
            if (prefillBitsPerElement > 64 || decodeBitsPerElement > 64) {
                throw new IllegalArgumentException("predicted bits per element must be at most 64");
            }
            if (agreement != null && !(agreement >= 0 && agreement <= 1)) {
                throw new IllegalArgumentException("predicted agreement must be in [0, 1], got " + agreement);
            }
            if (meanKl != null && !(meanKl >= 0 && Double.isFinite(meanKl))) {
                throw new IllegalArgumentException("predicted meanKl must be finite and >= 0, got " + meanKl);
            }
            if (deltaPpl != null && !Double.isFinite(deltaPpl)) {
                throw new IllegalArgumentException("predicted deltaPpl must be finite");
            }
            if (!(tokensPerRoundTrip >= 1 && tokensPerRoundTrip <= MAX_DRAFT_K + 1)) {
                throw new IllegalArgumentException("predicted tokensPerRoundTrip must be in [1, " + (MAX_DRAFT_K + 1) + "], got " + tokensPerRoundTrip);
            }
        }
    }

    public Plan {
        if (!SCHEMA.equals(schema)) {
            throw new IllegalArgumentException("plan: schema must be \"" + SCHEMA + "\", got " + (schema == null ? "nothing" : "\"" + schema + "\""));
        }
        if (model == null || predicted == null || inputs == null || edgeFormat == null || cloudFormat == null || codec == null
                || objective == null) {
            throw new IllegalArgumentException("plan: model, formats, codec, objective, predicted and inputs are required");
        }
        int L = model.nLayers();
        if (split < 0 || split > L) {
            throw new IllegalArgumentException("plan: split " + split + " is outside [0, " + L + "] for " + model.name() + " (" + L + " layers)");
        }
        WeightFormat e = parseFormat("edgeFormat", edgeFormat), c = parseFormat("cloudFormat", cloudFormat);
        if (split == L && e != c) {
            throw new IllegalArgumentException("plan: an all-edge plan (split = " + L + ") has no cloud part, so cloudFormat must equal edgeFormat ("
                    + edgeFormat + "), got " + cloudFormat);
        }
        if (split == L != codec.equals(CodecPoint.NONE)) {
            throw new IllegalArgumentException(split == L ? "plan: an all-edge plan sends nothing, so codec must be \"none\", got \"" + codec + "\""
                    : "plan: split " + split + " < " + L + " sends hidden states, so it needs a codec (got \"none\")");
        }
        if (codec.isBlank() || codec.length() > 256) {
            throw new IllegalArgumentException("plan: codec must be 1..256 characters");
        }
        if (maxSeqLen < 2 || maxSeqLen > model.seqLen()) {
            throw new IllegalArgumentException("plan: maxSeqLen " + maxSeqLen + " outside [2, " + model.seqLen() + "] (the model's seq_len)");
        }
        if (promptTokens < 1 || promptTokens >= maxSeqLen) {
            throw new IllegalArgumentException("plan: promptTokens " + promptTokens + " must be in [1, maxSeqLen - 1 = " + (maxSeqLen - 1) + "]");
        }
        dev.splitllm.optimizer.solve.Objective.parse(objective);
        for (String k : INPUTS) {
            String v = inputs.get(k);
            if (v == null || !v.matches("sha256:[0-9a-f]{64}")) {
                throw new IllegalArgumentException("plan: inputs." + k + " must be \"sha256:<64 hex digits>\", got " + v);
            }
        }
        if (inputs.size() != INPUTS.length) {
            throw new IllegalArgumentException("plan: inputs must name exactly " + String.join(", ", INPUTS) + ", got " + inputs.keySet());
        }
        if (draftK < 0 || draftK > MAX_DRAFT_K) {
            throw new IllegalArgumentException("plan: draftK must be in [0, " + MAX_DRAFT_K + "], got " + draftK);
        }
        if ((draft == null) != (draftK == 0)) {
            throw new IllegalArgumentException(draft == null ? "plan: draftK " + draftK + " needs a drafter (\"draft\" is null)"
                    : "plan: drafter \"" + draft + "\" with draftK 0 (no drafts): give draftK >= 1 or draft null");
        }
        if (draft != null && (draft.isBlank() || draft.length() > 64)) {
            throw new IllegalArgumentException("plan: draft must be 1..64 characters");
        }
        if (draft != null && split == L) {
            throw new IllegalArgumentException("plan: an all-edge plan (split = " + L + ") has no round trip to speculate across, so draft must be null");
        }
        if (predicted.tokensPerRoundTrip() > draftK + 1) {
            throw new IllegalArgumentException("plan: tokensPerRoundTrip " + predicted.tokensPerRoundTrip() + " exceeds draftK + 1 = " + (draftK + 1));
        }
        if (split == L && predicted.cloudBytes() != 0) {
            throw new IllegalArgumentException("plan: an all-edge plan predicts cloud memory 0, got " + predicted.cloudBytes());
        }
        inputs = Map.copyOf(inputs);
        if (model.toConfig().dim() % e.blockSize != 0 || model.toConfig().hiddenDim() % e.blockSize != 0
                || model.toConfig().dim() % c.blockSize != 0 || model.toConfig().hiddenDim() % c.blockSize != 0) {
            throw new IllegalArgumentException("plan: the model's rows are not a multiple of the block size of " + edgeFormat + "/" + cloudFormat);
        }
    }

    private static WeightFormat parseFormat(String field, String s) {
        try {
            return WeightFormat.parse(s);
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException("plan: " + field + ": " + ex.getMessage(), ex);
        }
    }

    /** The engine's precision plan: embedding at Q_w1; the classifier at the format of the side that holds it. */
    public PrecisionPlan precisionPlan() {
        WeightFormat e = WeightFormat.parse(edgeFormat), c = WeightFormat.parse(cloudFormat);
        return new PrecisionPlan(split, e, c, e, split == model.nLayers() ? e : c);
    }
}
