package dev.splitllm.engine.onnx;

import dev.splitllm.engine.model.LlamaConfig;

/**
 * RoPE cosine and sine tables, {@code positions x headSize/2}, for the llama2.c convention:
 * consecutive pairs (2j, 2j+1) within each head rotate by {@code pos * theta^(-2j/headSize)}.
 * Computed exactly as the Java engine does (float angle, then double cos/sin rounded to
 * float) so both backends rotate by identical factors; the graph gathers rows by position.
 */
final class RopeTables {
    final int positions;
    final int half;
    final float[] cos;
    final float[] sin;

    RopeTables(LlamaConfig config, int positions) {
        if (positions <= 0 || positions > LlamaConfig.MAX_SEQ_LEN) {
            throw new IllegalArgumentException("RoPE table positions must be in [1, " + LlamaConfig.MAX_SEQ_LEN + "], got " + positions);
        }
        this.positions = positions;
        this.half = config.headSize() / 2;
        float[] invFreq = new float[half];
        for (int j = 0; j < half; j++) {
            invFreq[j] = (float) (1.0 / Math.pow(config.ropeTheta(), (2.0 * j) / config.headSize()));
        }
        this.cos = new float[positions * half];
        this.sin = new float[positions * half];
        for (int pos = 0; pos < positions; pos++) {
            for (int j = 0; j < half; j++) {
                float angle = pos * invFreq[j];
                cos[pos * half + j] = (float) Math.cos(angle);
                sin[pos * half + j] = (float) Math.sin(angle);
            }
        }
    }
}
