package dev.splitllm.engine.onnx;

/**
 * What one ONNX graph computes: blocks [firstLayer, endLayer) of a Llama model, fed either
 * token ids (through the embedding) or hidden states, and ending either in hidden states or
 * in the final norm and classifier. Also fixes the graph's input and output names.
 *
 * <p>Inputs: {@value #TOKENS} int64 [T] or {@value #HIDDEN} float [T, dim]; when there is at
 * least one block, {@value #POSITIONS} int64 [T] (absolute positions of the T rows) and, per
 * block l, {@code past_key_l} / {@code past_value_l} float [past, kvDim]. Outputs:
 * {@value #HIDDEN_OUT} float [T, dim], or {@value #LOGITS} float [1, vocab] for the last row
 * when {@code head}; per block l, {@code present_key_l} / {@code present_value_l} float
 * [past + T, kvDim] (the past followed by the T new rows).
 *
 * @param firstLayer first block (inclusive)
 * @param endLayer   end block (exclusive); equal to firstLayer for a graph with no block
 * @param tokenInput true: the graph starts with the embedding lookup of token ids
 * @param head       true: the graph ends with the final RMSNorm and the classifier (last row only)
 */
public record OnnxGraphSpec(int firstLayer, int endLayer, boolean tokenInput, boolean head) {
    public static final String TOKENS = "tokens";
    public static final String HIDDEN = "hidden";
    public static final String POSITIONS = "positions";
    public static final String HIDDEN_OUT = "hidden_out";
    public static final String LOGITS = "logits";

    public OnnxGraphSpec {
        if (firstLayer < 0 || endLayer < firstLayer) {
            throw new IllegalArgumentException("invalid layer range [" + firstLayer + ", " + endLayer + ")");
        }
        if (firstLayer == endLayer && !tokenInput && !head) {
            throw new IllegalArgumentException("a graph with no block needs the embedding or the head");
        }
    }

    /** Blocks [first, end) on hidden states, hidden states out. */
    public static OnnxGraphSpec blocks(int first, int end) {
        return new OnnxGraphSpec(first, end, false, false);
    }

    /** The embedding lookup alone: token ids in, hidden states out. */
    public static OnnxGraphSpec embeddingOnly() {
        return new OnnxGraphSpec(0, 0, true, false);
    }

    /** The final norm and classifier alone, on a [1, dim] hidden state after block {@code nLayers - 1}. */
    public static OnnxGraphSpec headOnly(int nLayers) {
        return new OnnxGraphSpec(nLayers, nLayers, false, true);
    }

    public int layerCount() {
        return endLayer - firstLayer;
    }

    public String inputName() {
        return tokenInput ? TOKENS : HIDDEN;
    }

    public String outputName() {
        return head ? LOGITS : HIDDEN_OUT;
    }

    public static String pastKey(int layer) {
        return "past_key_" + layer;
    }

    public static String pastValue(int layer) {
        return "past_value_" + layer;
    }

    public static String presentKey(int layer) {
        return "present_key_" + layer;
    }

    public static String presentValue(int layer) {
        return "present_value_" + layer;
    }
}
