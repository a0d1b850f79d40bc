package dev.splitllm.engine;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.weights.WeightFormat;
import org.junit.jupiter.api.Test;

/**
 * stories15M converted to Q8_0 / Q4_0 (all blocks, embedding and tied classifier) against the F32
 * model: greedy continuation of "Once upon a time" and the logits along that F32 continuation
 * (teacher-forced, so both models see the same tokens).
 */
public class QuantizedQualityTest {

    static final int STEPS = 10;
    private static float[][] f32Logits;

    static synchronized float[][] f32Logits() {
        if (f32Logits == null) f32Logits = teacherForcedLogits(TestModel.full());
        return f32Logits;
    }

    /** Greedy ids after the prompt. */
    public static int[] greedy(ModelWeights w, int steps) {
        Transformer tf = new Transformer(w, KernelProvider.best(), TestModel.TEAM);
        SegmentState st = tf.newState(64);
        float[] x = tf.embed(GoldenVectorsTest.PROMPT_IDS);
        tf.forward(st, x, GoldenVectorsTest.PROMPT_IDS.length);
        float[] logits = tf.lastLogits(x, GoldenVectorsTest.PROMPT_IDS.length);
        int[] out = new int[steps];
        for (int i = 0; i < steps; i++) {
            out[i] = Sampler.argmax(logits);
            x = tf.embed(new int[] {out[i]});
            tf.forward(st, x, 1);
            logits = tf.lastLogits(x, 1);
        }
        return out;
    }

    /** Logits (positions x vocab) of the prompt followed by the F32 greedy continuation. */
    public static float[][] teacherForcedLogits(ModelWeights w) {
        Transformer tf = new Transformer(w, KernelProvider.best(), TestModel.TEAM);
        int[] ids = GoldenVectorsTest.concat(GoldenVectorsTest.PROMPT_IDS, java.util.Arrays.copyOf(GoldenVectorsTest.GREEDY_21, STEPS));
        SegmentState st = tf.newState(64);
        float[] x = tf.embed(ids);
        tf.forward(st, x, ids.length);
        float[][] out = new float[ids.length][tf.config().vocabSize()];
        for (int t = 0; t < ids.length; t++) {
            tf.logits(x, t, out[t]);
        }
        return out;
    }

    /**
     * {max |a - b| over all logits, RMS of a - b, top-1 agreement, mean KL(p_ref || p_got) in
     * nats of the next-token distributions}.
     */
    public static double[] compare(float[][] ref, float[][] got) {
        double maxDiff = 0, sq = 0, kl = 0;
        long n = 0;
        int agree = 0;
        for (int t = 0; t < ref.length; t++) {
            for (int i = 0; i < ref[t].length; i++) {
                double dlt = ref[t][i] - got[t][i];
                maxDiff = Math.max(maxDiff, Math.abs(dlt));
                sq += dlt * dlt;
                n++;
            }
            if (Sampler.argmax(ref[t]) == Sampler.argmax(got[t])) agree++;
            double[] p = logSoftmax(ref[t]), q = logSoftmax(got[t]);
            for (int i = 0; i < p.length; i++) kl += Math.exp(p[i]) * (p[i] - q[i]);
        }
        return new double[] {maxDiff, Math.sqrt(sq / n), (double) agree / ref.length, kl / ref.length};
    }

    static double[] logSoftmax(float[] l) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : l) max = Math.max(max, v);
        double sum = 0;
        for (float v : l) sum += Math.exp(v - max);
        double lse = max + Math.log(sum);
        double[] out = new double[l.length];
        for (int i = 0; i < l.length; i++) out[i] = l[i] - lse;
        return out;
    }

    @Test
    void q8_0MatchesF32() {
        ModelWeights q8 = ModelQuantizer.apply(TestModel.full(), PrecisionPlan.uniform(WeightFormat.Q8_0));
        int[] got = greedy(q8, STEPS);
        assertArrayEquals(java.util.Arrays.copyOf(GoldenVectorsTest.GREEDY_21, STEPS), got);
        double[] c = compare(f32Logits(), teacherForcedLogits(q8));
        System.out.printf("q8_0 vs f32: max |dlogit| %.4f, rms %.4f, top-1 agreement %.3f, mean KL %.6f nats%n", c[0], c[1], c[2], c[3]);
        // Measured on stories15M (fp32 logits span about +-25): max 0.41, rms 0.073, KL 4.5e-5.
        assertTrue(c[0] < 0.6, "q8_0 logits max abs diff " + c[0]);
        assertTrue(c[1] < 0.12, "q8_0 logits rms diff " + c[1]);
        assertTrue(c[3] < 5e-4, "q8_0 mean KL " + c[3]);
        assertEquals(1.0, c[2], "q8_0 top-1 agreement");
    }

    @Test
    void q4_0StaysClose() {
        ModelWeights q4 = ModelQuantizer.apply(TestModel.full(), PrecisionPlan.uniform(WeightFormat.Q4_0));
        double[] c = compare(f32Logits(), teacherForcedLogits(q4));
        int[] got = greedy(q4, STEPS);
        int same = 0;
        while (same < STEPS && got[same] == GoldenVectorsTest.GREEDY_21[same]) same++;
        System.out.printf("q4_0 vs f32: max |dlogit| %.4f, rms %.4f, top-1 agreement %.3f, mean KL %.6f nats, greedy prefix %d/%d%n",
                c[0], c[1], c[2], c[3], same, STEPS);
        // Measured: max 5.4, rms 1.45, KL 0.030, top-1 15/15, greedy 10/10. Looser bounds than q8_0.
        assertTrue(c[0] < 8.0, "q4_0 logits max abs diff " + c[0]);
        assertTrue(c[1] < 2.2, "q4_0 logits rms diff " + c[1]);
        assertTrue(c[3] < 0.08, "q4_0 mean KL " + c[3]);
        assertTrue(c[2] >= 0.8, "q4_0 top-1 agreement " + c[2]);
        assertTrue(same >= 5, "q4_0 greedy prefix " + same);
    }
}
