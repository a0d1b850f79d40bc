package dev.splitllm.engine.model;

import dev.splitllm.engine.tensor.WeightMatrix;

/**
 * One transformer block: attention (RMSNorm, Wq/Wk/Wv/Wo) and SwiGLU feed-forward
 * (RMSNorm, W1 gate, W2 down, W3 up). Matrices are stored [out x in].
 *
 * <p>Optional F32 attention biases {@code bq} (dim), {@code bk} and {@code bv} (kvDim), as Qwen2
 * has, are added to the projections before RoPE; they are null for bias-free models (Llama,
 * Mistral), whose forward is then exactly the bias-free one. Either all three are present or none.
 */
public record LayerWeights(float[] rmsAtt, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                           float[] rmsFfn, WeightMatrix w1, WeightMatrix w2, WeightMatrix w3,
                           float[] bq, float[] bk, float[] bv) {

    public LayerWeights {
        boolean any = bq != null || bk != null || bv != null;
        if (any && (bq == null || bk == null || bv == null)) {
            throw new IllegalArgumentException("attention biases must be all present or all absent");
        }
        if (any && (bq.length != wq.rows() || bk.length != wk.rows() || bv.length != wv.rows())) {
            throw new IllegalArgumentException("attention bias lengths " + bq.length + "/" + bk.length + "/" + bv.length
                    + " do not match the projections " + wq.rows() + "/" + wk.rows() + "/" + wv.rows());
        }
    }

    /** A bias-free block (Llama, Mistral). */
    public LayerWeights(float[] rmsAtt, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                        float[] rmsFfn, WeightMatrix w1, WeightMatrix w2, WeightMatrix w3) {
        this(rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3, null, null, null);
    }

    /** True when the block carries q/k/v biases. */
    public boolean hasAttentionBias() {
        return bq != null;
    }

    /** Bytes held by this block's weights. */
    public long bytes() {
        long biases = hasAttentionBias() ? 4L * (bq.length + bk.length + bv.length) : 0;
        return 4L * (rmsAtt.length + rmsFfn.length)
                + wq.bytes() + wk.bytes() + wv.bytes() + wo.bytes() + w1.bytes() + w2.bytes() + w3.bytes() + biases;
    }
}
