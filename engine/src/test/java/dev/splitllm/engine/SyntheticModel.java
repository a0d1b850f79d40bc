package dev.splitllm.engine;

import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tensor.F32Matrix;
import java.util.Random;

/** Random F32 weights of any shape, seeded, for tests that need shapes stories15M lacks (GQA, untied head). */
public final class SyntheticModel {
    private SyntheticModel() {}

    public static ModelWeights random(LlamaConfig c, ModelSlice slice, long seed) {
        Random rnd = new Random(seed);
        int d = c.dim(), kv = c.kvDim(), h = c.hiddenDim();
        LayerWeights[] layers = new LayerWeights[c.nLayers()];
        for (int l = slice.firstLayer(); l < slice.endLayer(); l++) {
            layers[l] = new LayerWeights(norm(rnd, d), m(rnd, d, d), m(rnd, kv, d), m(rnd, kv, d), m(rnd, d, d),
                    norm(rnd, d), m(rnd, h, d), m(rnd, d, h), m(rnd, h, d));
        }
        boolean needTable = slice.withEmbedding() || (slice.withHead() && c.sharedClassifier());
        F32Matrix emb = needTable ? m(rnd, c.vocabSize(), d) : null;
        F32Matrix cls = null;
        float[] rmsFinal = null;
        if (slice.withHead()) {
            rmsFinal = norm(rnd, d);
            cls = c.sharedClassifier() ? emb : m(rnd, c.vocabSize(), d);
        }
        return new ModelWeights(c, slice, emb, layers, rmsFinal, cls);
    }

    private static F32Matrix m(Random rnd, int rows, int cols) {
        float[] a = new float[rows * cols];
        float s = (float) (1 / Math.sqrt(cols));
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian() * s;
        return new F32Matrix(a, rows, cols);
    }

    private static float[] norm(Random rnd, int d) {
        float[] a = new float[d];
        for (int i = 0; i < d; i++) a[i] = 1 + 0.1f * (float) rnd.nextGaussian();
        return a;
    }
}
