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
}
