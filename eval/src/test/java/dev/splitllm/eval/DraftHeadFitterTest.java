package dev.splitllm.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.draft.DraftHead;
import dev.splitllm.engine.draft.ExitHeadDrafter;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The draft-head fitter on the real stories15M model. */
class DraftHeadFitterTest {
    @TempDir
    Path tmp;

    @Test
    void fittedAdapterBeatsTheRawExit() throws IOException {
        Transformer tf = TestModel.transformer();
        Tokenizer tok = TestModel.tokenizer();
        long t0 = System.nanoTime();
        DraftHeadFitter.Texts texts = DraftHeadFitter.selfGenerated(tf, tok, 16, 4);
        DraftHeadFitter fitter = new DraftHeadFitter(tf, 3);
        for (int[] w : texts.fit) fitter.add(w);
        DraftHead head = fitter.solve(DraftHeadFitter.DEFAULT_RIDGE);
        DraftHeadFitter.Agreement a = DraftHeadFitter.agreement(tf, head, texts.heldOut);
        System.out.printf("split 3, fitted on %d positions of %s: held-out %s (%.1f s)%n", fitter.positions(), texts.description, a,
                (System.nanoTime() - t0) / 1e9);
        assertEquals(3, head.splitLayer());
        assertEquals(DraftHead.fingerprint(tf.config(), tf.weights().rmsFinal(), tf.weights().classifier()), head.fingerprint());
        assertTrue(a.raw > 0.05 && a.raw < 0.3, "the raw exit at l=3 agrees about 18% of the time: " + a);
        assertTrue(a.exit > a.raw + 0.05, "the fitted adapter must beat the raw exit: " + a);

        // The written head, run by the engine's drafter, predicts what agreement() measured.
        Path file = tmp.resolve("stories15M-l3.xhead");
        head.write(file);
        ExitHeadDrafter drafter = ExitHeadDrafter.load(TestModel.checkpoint(), DraftHead.read(file), WeightFormat.F32, KernelProvider.best());
        int[] window = texts.heldOut.get(0);
        DraftHeadFitter.Agreement one = DraftHeadFitter.agreement(tf, head, List.of(window));
        float[][] h = ResidualCapture.afterEachBlock(tf, window);
        int d = tf.config().dim(), vocab = tf.config().vocabSize(), same = 0;
        float[] row = new float[d], logits = new float[vocab], full = new float[vocab];
        for (int t = 1; t < window.length; t++) {
            System.arraycopy(h[3], t * d, row, 0, d);
            drafter.score(window, t + 1, row, logits);
            tf.logits(h[6], t, full);
            if (Sampler.argmax(logits) == Sampler.argmax(full)) same++;
        }
        long measured = Math.round(one.exit * one.positions);
        System.out.printf("drafter on one held-out window: %d of %d positions agree (agreement() says %d)%n", same, one.positions, measured);
        // Batched and one-row logits may differ in the last bits, which can flip a near-tie.
        assertTrue(Math.abs(same - measured) <= 2, "the loaded drafter must agree where agreement() says: " + same + " vs " + measured);
    }

    @Test
    void identityHeadIsTheRawExit() {
        Transformer tf = TestModel.transformer();
        Tokenizer tok = TestModel.tokenizer();
        List<int[]> w = List.of(tok.encode("Lily liked to bake cookies with her grandma on Sundays. They made big round cookies.", true));
        DraftHead id = DraftHead.identity(tf.config(), 3, 0);
        DraftHeadFitter.Agreement a = DraftHeadFitter.agreement(tf, id, w);
        assertEquals(a.raw, a.exit);
        assertEquals(w.get(0).length - 1, a.positions);
        DraftHeadFitter.Agreement full = DraftHeadFitter.agreement(tf, DraftHead.identity(tf.config(), 6, 0), w);
        assertEquals(1.0, full.exit, "at full depth the exit is the model");
    }

    @Test
    void choleskySolvesARidgeSystem() {
        int n = 7, m = 3;
        Random rnd = new Random(11);
        double[] x = new double[40 * n];
        for (int i = 0; i < x.length; i++) x[i] = rnd.nextGaussian();
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                for (int t = 0; t < 40; t++) a[i * n + j] += x[t * n + i] * x[t * n + j];
            }
            a[i * n + i] += 0.5;
        }
        double[] want = new double[n * m];
        for (int i = 0; i < want.length; i++) want[i] = rnd.nextGaussian();
        double[] b = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < m; c++) {
                for (int k = 0; k < n; k++) b[i * m + c] += a[i * n + k] * want[k * m + c];
            }
        }
        DraftHeadFitter.cholesky(a, n);
        DraftHeadFitter.solveInPlace(a, n, b, m);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], b[i], 1e-9);
        double[] singular = new double[4];
        assertThrows(IllegalStateException.class, () -> DraftHeadFitter.cholesky(singular, 2));
    }

    @Test
    void refusesTooLittleText() {
        Transformer tf = TestModel.transformer();
        DraftHeadFitter f = new DraftHeadFitter(tf, 3);
        f.add(TestModel.tokenizer().encode("Tom had a red kite.", true));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.solve(1e-3));
        assertTrue(e.getMessage().contains("calibration positions"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DraftHeadFitter(tf, 7));
        assertThrows(IllegalArgumentException.class,
                () -> DraftHeadFitter.fromText(TestModel.tokenizer(), "Once upon a time.", 10_000, "tiny.txt"));
    }
}
