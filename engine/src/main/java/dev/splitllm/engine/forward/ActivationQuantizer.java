package dev.splitllm.engine.forward;

/**
 * Optional hook on the input of every linear layer of a block, used by whole-model activation
 * quantization baselines (SmoothQuant W8A8, Atom W4A4) and by calibration (which only reads).
 * A {@link HookedTransformer} calls it on the rows that are about to be multiplied, and the
 * hook may rewrite them in place (quantize-dequantize). The plain {@link Transformer} has no
 * hook.
 */
public interface ActivationQuantizer {

    /** Which matmul input of a block the rows feed. */
    enum Site {
        /** RMSNorm output feeding Wq, Wk, Wv (width dim). */
        ATTN_QKV,
        /** Attention output feeding Wo (width dim). */
        ATTN_OUT,
        /** RMSNorm output feeding W1 and W3 (width dim). */
        FFN_UP,
        /** SwiGLU output feeding W2 (width hiddenDim). */
        FFN_DOWN
    }

    /**
     * Called on {@code x[0, tokens*width)} (row-major) right before the site's matmul of block
     * {@code layer}; may modify the values in place.
     */
    void apply(int layer, Site site, float[] x, int tokens, int width);
}
