package dev.splitllm.engine.model;

import dev.splitllm.engine.tensor.WeightMatrix;

/**
 * One transformer block: attention (RMSNorm, Wq/Wk/Wv/Wo) and SwiGLU feed-forward
 * (RMSNorm, W1 gate, W2 down, W3 up). Matrices are stored [out x in].
 */
public record LayerWeights(float[] rmsAtt, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                           float[] rmsFfn, WeightMatrix w1, WeightMatrix w2, WeightMatrix w3) {

    /** Bytes held by this block's weights. */
    public long bytes() {
        return 4L * (rmsAtt.length + rmsFfn.length)
                + wq.bytes() + wk.bytes() + wv.bytes() + wo.bytes() + w1.bytes() + w2.bytes() + w3.bytes();
    }
}
