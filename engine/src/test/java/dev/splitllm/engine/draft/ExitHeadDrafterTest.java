package dev.splitllm.engine.draft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.splitllm.engine.SyntheticModel;
import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tensor.MatrixConverter;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exit-head drafter on the real stories15M model. */
class ExitHeadDrafterTest {
    @TempDir
    Path tmp;

    private static long fingerprint(ModelWeights m) {
        return DraftHead.fingerprint(m.config(), m.rmsFinal(), m.classifier());
    }

    /** Hidden states of every position of a prompt after all blocks (T x d), and T. */
    private static float[] lastResidual(Transformer tf, int[] tokens) {
        float[] x = tf.embed(tokens);
        SegmentState st = tf.newState(tokens.length);
        tf.forward(st, x, tokens.length);
        return x;
    }

    @Test
    void identityAtFullDepthIsTheModelsOwnHead() {
        Transformer tf = TestModel.transformer();
        ModelWeights m = tf.weights();
        LlamaConfig c = m.config();
        DraftHead identity = DraftHead.identity(c, c.nLayers(), fingerprint(m));
        ExitHeadDrafter drafter = new ExitHeadDrafter(identity, m.rmsFinal(), m.classifier(), c, tf.kernels());
        assertEquals("exit-head", drafter.name());
        assertTrue(drafter.needsCutRow());
        int[] tokens = TestModel.tokenizer().encode("Once upon a time, there was a little fox who lived in a hollow log.", true);
        float[] x = lastResidual(tf, tokens);
        int d = c.dim(), vocab = c.vocabSize();
        float[] expected = new float[vocab], got = new float[vocab], row = new float[d];
        for (int t = 0; t < tokens.length; t++) {
            tf.logits(x, t, expected);
            System.arraycopy(x, t * d, row, 0, d);
            assertTrue(drafter.score(tokens, t + 1, row, got));
            assertArrayEquals(expected, got, "position " + t + ": the exit head at full depth must give the model's logits bit for bit");
        }
        // With a team, the same bits.
        try (dev.splitllm.engine.kernels.ThreadTeam team = new dev.splitllm.engine.kernels.ThreadTeam(2)) {
            ExitHeadDrafter teamed = new ExitHeadDrafter(identity, m.rmsFinal(), m.classifier(), c, tf.kernels(), team);
            System.arraycopy(x, 0, row, 0, d);
            teamed.score(tokens, 1, row, got);
            tf.logits(x, 0, expected);
            assertArrayEquals(expected, got);
        }
        assertEquals(identity.bytes() + m.classifier().bytes() + 4L * d, drafter.residentBytes());
    }

    @Test
    void adapterIsApplied() {
        Transformer tf = TestModel.transformer();
        ModelWeights m = tf.weights();
        LlamaConfig c = m.config();
        int d = c.dim();
        // y = 2h + b: the norm removes the factor 2, so the result is the model's head applied to h + b/2.
        float[] w = new float[d * d], b = new float[d];
        Random rnd = new Random(3);
        for (int i = 0; i < d; i++) {
            w[i * d + i] = 2f;
            b[i] = (float) rnd.nextGaussian();
        }
        DraftHead head = new DraftHead(3, d, c.nLayers(), c.vocabSize(), fingerprint(m), w, b);
        ExitHeadDrafter drafter = new ExitHeadDrafter(head, m.rmsFinal(), m.classifier(), c, tf.kernels());
        int[] tokens = TestModel.tokenizer().encode("Tom had a red kite.", true);
        float[] x = lastResidual(tf, tokens);
        float[] row = new float[d], shifted = new float[d];
        System.arraycopy(x, (tokens.length - 1) * d, row, 0, d);
        for (int i = 0; i < d; i++) shifted[i] = row[i] + b[i] / 2;
        float[] got = new float[c.vocabSize()], want = new float[c.vocabSize()];
        drafter.score(tokens, tokens.length, row, got);
        tf.logits(shifted, 0, want);
        for (int v = 0; v < want.length; v++) {
            assertEquals(want[v], got[v], 1e-3f * (1 + Math.abs(want[v])), "token " + v);
        }
    }

    @Test
    void loadsTheHeadAtQ8AndAgreesWithTheModel() throws IOException {
        Transformer tf = TestModel.transformer();
        ModelWeights m = tf.weights();
        LlamaConfig c = m.config();
        DraftHead identity = DraftHead.identity(c, c.nLayers(), fingerprint(m));
        Path file = tmp.resolve("identity.xhead");
        identity.write(file);
        ExitHeadDrafter drafter = ExitHeadDrafter.load(TestModel.checkpoint(), DraftHead.read(file), null, KernelProvider.best());
        long q8 = WeightFormat.Q8_0.bytesFor(32000L * 288);
        assertEquals(identity.bytes() + q8 + 4L * 288, drafter.residentBytes(), "the classifier is held at Q8_0 by default");
        int[] tokens = TestModel.tokenizer().encode("The sun was shining and Mia wanted to go to the park with her dog.", true);
        float[] x = lastResidual(tf, tokens);
        int same = 0, d = c.dim();
        float[] full = new float[c.vocabSize()], draft = new float[c.vocabSize()], row = new float[d];
        for (int t = 0; t < tokens.length; t++) {
            tf.logits(x, t, full);
            System.arraycopy(x, t * d, row, 0, d);
            drafter.score(tokens, t + 1, row, draft);
            if (Sampler.argmax(full) == Sampler.argmax(draft)) same++;
        }
        assertTrue(same >= tokens.length - 1, "a Q8_0 classifier keeps the argmax: " + same + " of " + tokens.length);
        // F32 at full depth through load(): exact again.
        ExitHeadDrafter exact = ExitHeadDrafter.load(TestModel.checkpoint(), identity, WeightFormat.F32, KernelProvider.best());
        System.arraycopy(x, 0, row, 0, d);
        exact.score(tokens, 1, row, draft);
        tf.logits(x, 0, full);
        assertArrayEquals(full, draft);
    }

    @Test
    void refusesMissingCutRowAndShortBuffers() {
        ModelWeights m = TestModel.full();
        LlamaConfig c = m.config();
        ExitHeadDrafter drafter = new ExitHeadDrafter(DraftHead.identity(c, 3, fingerprint(m)), m.rmsFinal(), m.classifier(), c,
                KernelProvider.best());
        float[] logits = new float[c.vocabSize()];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> drafter.score(new int[] {1}, 1, null, logits));
        assertTrue(e.getMessage().contains("hidden state at the cut"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> drafter.score(new int[] {1}, 1, new float[10], logits));
        assertThrows(IllegalArgumentException.class, () -> drafter.score(new int[] {1}, 1, new float[288], new float[100]));
    }

    /** A tiny llama2.c checkpoint of another shape (d 64, 2 layers, vocabulary 512), random weights. */
    private Path otherModel() throws IOException {
        int d = 64, h = 128, layers = 2, heads = 4, vocab = 512, seq = 32;
        long floats = (long) vocab * d + layers * d + 2L * layers * d * d + 2L * layers * d * d + layers * d + 3L * layers * d * h + d
                + (long) seq * (d / heads);
        ByteBuffer buf = ByteBuffer.allocate((int) (28 + 4 * floats)).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(d).putInt(h).putInt(layers).putInt(heads).putInt(heads).putInt(vocab).putInt(seq);
        Random rnd = new Random(5);
        while (buf.hasRemaining()) buf.putFloat((float) rnd.nextGaussian() * 0.1f);
        Path f = tmp.resolve("other.bin");
        Files.write(f, buf.array());
        return f;
    }

    @Test
    void refusesAHeadFittedForAnotherModel() throws IOException {
        ModelWeights m = TestModel.full();
        LlamaConfig c = m.config();
        DraftHead head = DraftHead.identity(c, 3, fingerprint(m));
        // Another shape, through load(): refused before the classifier is read.
        Path other = otherModel();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ExitHeadDrafter.load(other, head, WeightFormat.Q8_0, KernelProvider.best()));
        assertTrue(e.getMessage().contains("d=288, 6 layers, vocabulary 32000") && e.getMessage().contains("d=64, 2 layers, vocabulary 512"),
                e.getMessage());
        assertTrue(e.getMessage().contains(other.toString()), e.getMessage());
        // Another shape, through the constructor.
        LlamaConfig small = new LlamaConfig(64, 128, 2, 4, 4, 512, 32, 10000f, 1e-5f, true);
        ModelWeights sm = SyntheticModel.random(small, ModelSlice.all(2), 9);
        assertThrows(IllegalArgumentException.class, () -> new ExitHeadDrafter(head, sm.rmsFinal(), sm.classifier(), small,
                KernelProvider.best()));
        // Same shape, other weights: the fingerprint differs.
        float[] norm = m.rmsFinal().clone();
        norm[0] *= 1.5f;
        e = assertThrows(IllegalArgumentException.class, () -> new ExitHeadDrafter(head, norm, m.classifier(), c, KernelProvider.best()));
        assertTrue(e.getMessage().contains("another model of the same shape"), e.getMessage());
        DraftHead alien = new DraftHead(3, 288, 6, 32000, 42L, head.weights(), head.bias());
        e = assertThrows(IllegalArgumentException.class, () -> ExitHeadDrafter.load(TestModel.checkpoint(), alien, null,
                KernelProvider.best()));
        assertTrue(e.getMessage().contains("fingerprint"), e.getMessage());
        // Held at Q8_0 by the caller, the classifier still matches the head fitted on F32.
        WeightMatrix q8 = MatrixConverter.convert(m.classifier(), WeightFormat.Q8_0, "classifier");
        assertFalse(new ExitHeadDrafter(head, m.rmsFinal(), q8, c, KernelProvider.best()).residentBytes() <= 0);
    }
}
