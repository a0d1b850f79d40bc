package dev.splitllm.eval;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;

/**
 * The residual stream of a token sequence after every block: what the edge would send for
 * each split layer. Runs one block at a time with its own state, in one batch per block, so
 * {@code hidden[l]} is exactly the output of blocks [0, l) ({@code hidden[0]} is the embedding).
 */
public final class ResidualCapture {
    private ResidualCapture() {}

    /** {@code L+1} arrays of {@code tokens.length x dim}; the transformer must hold every block. */
    public static float[][] afterEachBlock(Transformer tf, int[] tokens) {
        int layers = tf.config().nLayers();
        if (tokens.length < 1 || tokens.length > tf.config().seqLen()) {
            throw new IllegalArgumentException("need 1.." + tf.config().seqLen() + " tokens, got " + tokens.length);
        }
        float[][] out = new float[layers + 1][];
        float[] x = tf.embed(tokens);
        out[0] = x.clone();
        for (int l = 0; l < layers; l++) {
            SegmentState st = tf.newState(l, l + 1, tokens.length);
            tf.forward(st, x, tokens.length);
            out[l + 1] = x.clone();
        }
        return out;
    }
}
