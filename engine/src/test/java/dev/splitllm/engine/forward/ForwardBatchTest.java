package dev.splitllm.engine.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
 * #17: one {@link Transformer#forwardBatch} over the rows of several states (different splits,
 * different lengths, decode rows and prefill chunks together) gives every row exactly the bits
 * the plain single-state {@link Transformer#forward} gives it, and {@link Transformer#logitsRows}
 * exactly those of {@link Transformer#logits}: batching never changes a token.
 */
class ForwardBatchTest {

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"f32,auto", "q8_0,auto", "q4_0,auto", "f16,auto", "f32,scalar", "q8_0,scalar", "q4_0,scalar"})
    void batchedRowsAreBitIdenticalToSingleStateForwards(String format, String kernels) {
        ModelWeights w = ModelQuantizer.apply(TestModel.full(), PrecisionPlan.uniform(WeightFormat.parse(format)));
        Transformer tf = new Transformer(w, KernelProvider.select(kernels), TestModel.TEAM);
        int L = tf.config().nLayers(), d = tf.config().dim();
        // state g: first layer, tokens already cached, rows in this call (1 = a decode row, more = a prefill chunk)
        int[] first = {0, 1, 1, 2, L - 1};
        int[] prefix = {3, 0, 7, 5, 2};
        int[] counts = {1, 6, 1, 4, 9};
        int n = first.length;
        SegmentState[] batched = new SegmentState[n], alone = new SegmentState[n];
        float[][] inputs = new float[n][];
        int total = 0;
        for (int g = 0; g < n; g++) {
            batched[g] = tf.newState(first[g], L, 64);
            alone[g] = tf.newState(first[g], L, 64);
            if (prefix[g] > 0) {
                int[] ids = ids(g, prefix[g]);
                float[] a = tf.embed(ids), b = tf.embed(ids);
                tf.forward(batched[g], a, ids.length);
                tf.forward(alone[g], b, ids.length);
            }
            inputs[g] = tf.embed(ids(g + 11, counts[g]));
            total += counts[g];
        }
        float[] x = new float[total * d];
        int[] last = new int[n];
        for (int g = 0, at = 0; g < n; g++) {
            System.arraycopy(inputs[g], 0, x, at * d, counts[g] * d);
            at += counts[g];
            last[g] = at - 1;
        }
        Transformer.BatchBuffers buf = new Transformer.BatchBuffers();
        tf.forwardBatch(batched, counts, n, x, buf);
        int vocab = tf.config().vocabSize();
        float[] logits = new float[n * vocab];
        tf.logitsRows(x, last, n, logits, buf);
        for (int g = 0, at = 0; g < n; g++) {
            float[] y = inputs[g].clone();
            tf.forward(alone[g], y, counts[g]);
            assertArrayEquals(y, Arrays.copyOfRange(x, at * d, (at + counts[g]) * d), 0f, "hidden rows of state " + g);
            assertArrayEquals(tf.lastLogits(y, counts[g]), Arrays.copyOfRange(logits, g * vocab, (g + 1) * vocab), 0f,
                    "logits of state " + g);
            assertEquals(alone[g].length(), batched[g].length());
            at += counts[g];
        }
        // Unsorted or repeated states are refused before anything runs.
        SegmentState late = tf.newState(2, L, 8), early = tf.newState(1, L, 8);
        float[] two = new float[2 * d];
        assertThrows(IllegalArgumentException.class, () -> tf.forwardBatch(new SegmentState[] {late, early}, new int[] {1, 1}, 2, two, buf));
        assertThrows(IllegalArgumentException.class, () -> tf.forwardBatch(new SegmentState[] {late, late}, new int[] {1, 1}, 2, two, buf));
        assertEquals(0, late.length());
    }

    private static int[] ids(int seed, int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = 1 + (seed * 131 + i * 17) % 500;
        return ids;
    }
}
