package dev.splitllm.engine.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.GoldenVectorsTest;
import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.quantization.weights.WeightFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The batched prefill (cache-blocked panels; quantized panels decoded once to floats) gives the
 * same logits as feeding the prompt one token at a time, for every weight format and both kernel
 * sets: the same weights, only a different summation order.
 */
class BatchedPrefillTest {

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"f32,auto", "q8_0,auto", "q4_0,auto", "f16,auto", "q8_0,scalar", "q4_0,scalar"})
    void batchedEqualsTokenByToken(String format, String kernels) {
        ModelWeights w = ModelQuantizer.apply(TestModel.full(), PrecisionPlan.uniform(WeightFormat.parse(format)));
        Transformer tf = new Transformer(w, KernelProvider.select(kernels), TestModel.TEAM);
        int[] ids = java.util.Arrays.copyOf(GoldenVectorsTest.PROMPT_IDS, GoldenVectorsTest.PROMPT_IDS.length + GoldenVectorsTest.GREEDY_21.length);
        System.arraycopy(GoldenVectorsTest.GREEDY_21, 0, ids, GoldenVectorsTest.PROMPT_IDS.length, GoldenVectorsTest.GREEDY_21.length);
        SegmentState batched = tf.newState(64);
        float[] x = tf.embed(ids);
        tf.forward(batched, x, ids.length);
        float[] a = tf.lastLogits(x, ids.length);
        SegmentState single = tf.newState(64);
        float[] b = null;
        for (int id : ids) {
            float[] y = tf.embed(new int[] {id});
            tf.forward(single, y, 1);
            b = tf.lastLogits(y, 1);
        }
        double maxDiff = 0;
        for (int i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        assertTrue(maxDiff < 2e-3, format + " " + kernels + ": batched vs token-by-token logits differ by " + maxDiff);
    }

    /**
     * F32 weights: the batch runs 2 x 2 tiles that keep the one-token kernel's summation order, so
     * every position's hidden state is bit-identical to decoding token by token (lossless
     * evaluation and replay compare exactly). An odd token count exercises the single-token tail.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"auto", "scalar"})
    void f32BatchedHiddenStatesAreBitIdenticalToTokenByToken(String kernels) {
        Transformer tf = new Transformer(TestModel.full(), KernelProvider.select(kernels), TestModel.TEAM);
        int[] ids = java.util.Arrays.copyOf(GoldenVectorsTest.PROMPT_IDS, GoldenVectorsTest.PROMPT_IDS.length + GoldenVectorsTest.GREEDY_21.length);
        System.arraycopy(GoldenVectorsTest.GREEDY_21, 0, ids, GoldenVectorsTest.PROMPT_IDS.length, GoldenVectorsTest.GREEDY_21.length);
        if (ids.length % 2 == 0) ids = java.util.Arrays.copyOf(ids, ids.length - 1);
        int d = tf.config().dim();
        SegmentState batched = tf.newState(64);
        float[] x = tf.embed(ids);
        tf.forward(batched, x, ids.length);
        SegmentState single = tf.newState(64);
        for (int t = 0; t < ids.length; t++) {
            float[] y = tf.embed(new int[] {ids[t]});
            tf.forward(single, y, 1);
            for (int c = 0; c < d; c++) {
                assertEquals(Float.floatToRawIntBits(y[c]), Float.floatToRawIntBits(x[t * d + c]),
                        kernels + ": position " + t + ", channel " + c + ": " + y[c] + " vs " + x[t * d + c]);
            }
        }
    }
}
