package dev.splitllm.engine.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.RopeScaling;
import dev.splitllm.engine.model.SlidingWindow;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Sliding-window attention on stories15M's weights with an 8-position window: the KV ring holds
 * window + 31 rows (as MemoryAccount says), a 70-token prefill (run in chunks through the ring)
 * gives the logits of token-by-token decoding, and the window changes the result versus full
 * attention. (Agreement with llama.cpp: ArchitecturesOracleTest's mistral fixture, in tools.)
 */
class SlidingWindowTest {
    static Transformer windowed(int window) {
        ModelWeights full = TestModel.full();
        LlamaConfig c = full.config().withAttention(RopeScaling.NONE, window);
        LayerWeights[] layers = new LayerWeights[c.nLayers()];
        for (int l = 0; l < layers.length; l++) layers[l] = full.layer(l);
        return new Transformer(new ModelWeights(c, full.slice(), full.tokenEmbedding(), layers, full.rmsFinal(), full.classifier()),
                KernelProvider.best(), TestModel.TEAM);
    }

    static int[] tokens(int n) {
        int[] t = TestModel.tokenizer().encode("Once upon a time, there was a little girl named Lily. She loved to play outside"
                + " in the sunshine. One day, she saw a big red ball in the park and ran to it. The ball was shiny and new, and"
                + " she kicked it as hard as she could. It flew over the fence into the garden of an old man.", true);
        assertTrue(t.length >= n, "need " + n + " tokens, have " + t.length);
        return Arrays.copyOf(t, n);
    }

    @Test
    void batchedPrefillThroughTheRingEqualsDecodingOneByOne() {
        Transformer tf = windowed(8);
        int[] t = tokens(70);
        SegmentState batched = tf.newState(256);
        assertEquals(8 + SlidingWindow.MAX_BATCH - 1, batched.rows());
        float[] x = tf.embed(t);
        tf.forward(batched, x, t.length);
        float[] a = tf.lastLogits(x, t.length);

        SegmentState single = tf.newState(256);
        float[] b = null;
        for (int id : t) {
            float[] y = tf.embed(new int[] {id});
            tf.forward(single, y, 1);
            b = tf.lastLogits(y, 1);
        }
        for (int i = 0; i < a.length; i++) {
            assertEquals(b[i], a[i], 2e-4f * Math.max(1f, Math.abs(b[i])), "logit " + i);
        }
        float[] full = TestModel.transformer().lastLogits(fullForward(t), t.length);
        double diff = 0;
        for (int i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(full[i] - a[i]));
        assertTrue(diff > 0.1, "an 8-position window must change the logits after 70 tokens, max diff " + diff);
    }

    static float[] fullForward(int[] t) {
        Transformer tf = TestModel.transformer();
        float[] x = tf.embed(t);
        tf.forward(tf.newState(256), x, t.length);
        return x;
    }

    @Test
    void windowBeyondTheSequenceIsFullAttention() {
        int[] t = tokens(40);
        Transformer tf = windowed(64);
        float[] x = tf.embed(t);
        tf.forward(tf.newState(256), x, t.length);
        assertArrayEquals(TestModel.transformer().lastLogits(fullForward(t), t.length), tf.lastLogits(x, t.length), 1e-4f);
    }

    @Test
    void kvMemoryIsBoundedByTheWindow() {
        Transformer tf = windowed(8);
        SegmentState s = tf.newState(256);
        LlamaConfig c = tf.config();
        long perRow = 2L * c.kvDim() * Float.BYTES;
        assertEquals(6 * (8 + SlidingWindow.MAX_BATCH - 1) * perRow, s.kvBytes());
        assertEquals(s.kvBytes(), MemoryAccount.kvCacheBytes(c, 6, 256));
        assertEquals(6 * 256 * perRow, MemoryAccount.kvCacheBytes(TestModel.full().config(), 6, 256));
        // The ring cannot rewind past what it overwrote.
        float[] x = tf.embed(tokens(60));
        tf.forward(s, x, 60);
        assertThrows(IllegalArgumentException.class, () -> s.truncate(20));
        s.truncate(55);
        assertEquals(55, s.length());
    }
}
