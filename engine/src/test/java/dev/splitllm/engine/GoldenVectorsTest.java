package dev.splitllm.engine;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.sample.Sampler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Golden vectors from karpathy/llama2.c run.c on stories15M (docs/MODEL.md). */
public class GoldenVectorsTest {

    public static final int[] PROMPT_IDS = {1, 9038, 2501, 263, 931};
    public static final int[] GREEDY_21 = {29892, 727, 471, 263, 2217, 7826, 4257, 365, 2354, 29889, 2296, 18012, 304, 1708,
            5377, 297, 278, 6575, 845, 457, 29889};

    @Test
    void encodesPromptLikeRunC() {
        assertArrayEquals(PROMPT_IDS, TestModel.tokenizer().encode("Once upon a time", true));
    }

    @ParameterizedTest
    @ValueSource(strings = {"auto", "scalar"})
    void logitsAfterBosMatchRunC(String kernels) {
        Transformer tf = new Transformer(TestModel.full(), KernelProvider.select(kernels), TestModel.TEAM);
        SegmentState st = tf.newState(256);
        float[] x = tf.embed(new int[] {1});
        tf.forward(st, x, 1);
        float[] logits = tf.lastLogits(x, 1);
        assertEquals(-6.790798f, logits[0], 1e-4f);
        assertEquals(0.828116f, logits[1], 1e-4f);
        assertEquals(0.286636f, logits[29871], 1e-4f);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void greedyContinuationMatchesRunC(boolean batchedPrefill) {
        Transformer tf = TestModel.transformer();
        SegmentState st = tf.newState(256);
        float[] logits;
        if (batchedPrefill) {
            float[] x = tf.embed(PROMPT_IDS);
            tf.forward(st, x, PROMPT_IDS.length);
            logits = tf.lastLogits(x, PROMPT_IDS.length);
        } else {
            logits = null;
            for (int id : PROMPT_IDS) {
                float[] x = tf.embed(new int[] {id});
                tf.forward(st, x, 1);
                logits = tf.lastLogits(x, 1);
            }
        }
        int[] got = new int[GREEDY_21.length];
        for (int i = 0; i < got.length; i++) {
            int next = Sampler.argmax(logits);
            got[i] = next;
            float[] x = tf.embed(new int[] {next});
            tf.forward(st, x, 1);
            logits = tf.lastLogits(x, 1);
        }
        assertArrayEquals(GREEDY_21, got);
        assertEquals("Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.",
                TestModel.tokenizer().decode(concat(PROMPT_IDS, got)));
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
