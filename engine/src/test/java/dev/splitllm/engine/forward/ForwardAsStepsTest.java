package dev.splitllm.engine.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.quantization.weights.WeightFormat;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * #13: the rows of a DRAFT frame verified in one pass ({@link Transformer#forwardAsSteps}, and the
 * same rows inside a {@link Transformer#forwardBatch} tick) get exactly the bits of one-token
 * forwards, for every weight format and kernel set: speculation never changes a greedy token.
 */
class ForwardAsStepsTest {

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"f32,auto", "q8_0,auto", "q4_0,auto", "f16,auto", "q8_0,scalar", "q4_0,scalar"})
    void draftRowsGetTheBitsOfOneTokenSteps(String format, String kernels) {
        ModelWeights w = ModelQuantizer.apply(TestModel.full(), PrecisionPlan.uniform(WeightFormat.parse(format)));
        Transformer tf = new Transformer(w, KernelProvider.select(kernels), TestModel.TEAM);
        int L = tf.config().nLayers(), d = tf.config().dim(), vocab = tf.config().vocabSize();
        int[] prompt = {1, 403, 2501, 263, 931, 29892, 727};
        int[] rows = {338, 263, 2217, 7826, 4257, 3685, 29889, 450, 29871}; // 9 rows: the largest draft
        for (int first : new int[] {0, 3}) {
            SegmentState steps = tf.newState(first, L, 64), batched = tf.newState(first, L, 64), tick = tf.newState(first, L, 64);
            for (SegmentState s : new SegmentState[] {steps, batched, tick}) tf.forward(s, tf.embed(prompt), prompt.length);
            float[] expected = new float[rows.length * d];
            for (int t = 0; t < rows.length; t++) {
                float[] x = tf.embed(new int[] {rows[t]});
                tf.forward(steps, x, 1);
                System.arraycopy(x, 0, expected, t * d, d);
            }
            float[] x = tf.embed(rows);
            tf.forwardAsSteps(batched, x, rows.length);
            assertArrayEquals(expected, x, 0f, "forwardAsSteps from layer " + first);
            // In a scheduler tick, next to another state's decode row.
            SegmentState other = tf.newState(first, L, 64);
            tf.forward(other, tf.embed(prompt), prompt.length);
            float[] both = new float[(rows.length + 1) * d];
            System.arraycopy(tf.embed(rows), 0, both, 0, rows.length * d);
            System.arraycopy(tf.embed(new int[] {42}), 0, both, rows.length * d, d);
            tf.forwardBatch(new SegmentState[] {tick, other}, new int[] {rows.length, 1}, new boolean[] {true, false}, 2, both,
                    new Transformer.BatchBuffers());
            assertArrayEquals(expected, Arrays.copyOf(both, rows.length * d), 0f, "forwardBatch asSteps from layer " + first);
            float[] logitsSteps = new float[vocab], logitsBatched = new float[vocab];
            tf.logits(expected, rows.length - 1, logitsSteps);
            tf.logits(x, rows.length - 1, logitsBatched);
            assertArrayEquals(logitsSteps, logitsBatched, 0f);
        }
        // The guard: a plain batched prefill of quantized weights does use other kernels (else this test proves little).
        if (format.startsWith("q")) {
            SegmentState a = tf.newState(0, L, 64), b = tf.newState(0, L, 64);
            float[] x1 = tf.embed(rows), x2 = tf.embed(rows);
            tf.forward(a, x1, rows.length);
            tf.forwardAsSteps(b, x2, rows.length);
            assertFalse(Arrays.equals(x1, x2), "prefill kernels differ from one-token kernels for " + format);
        }
    }
}
