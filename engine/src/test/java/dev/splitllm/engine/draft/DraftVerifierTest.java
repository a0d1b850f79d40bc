package dev.splitllm.engine.draft;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.weights.WeightFormat;
import dev.splitllm.quantization.wire.Draft;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The cloud's verification of drafts: greedy keeps exactly the agreeing prefix; speculative
 * sampling gives tokens distributed exactly as the sampler's own distribution (chi-square over
 * many seeded trials, on a small vocabulary where every probability is known, and on the real
 * model's logits at a fixed position with a Q4_0 copy of the model as the drafter).
 */
class DraftVerifierTest {
    /** Chi-square critical values at p = 0.001 for 5 and for 9 degrees of freedom. */
    static final double CHI2_5 = 20.52, CHI2_9 = 27.88;

    @Test
    void greedyKeepsTheAgreeingPrefixThenTheArgmax() {
        int vocab = 5;
        float[] logits = {
            0, 3, 1, 0, 0, // row 0: argmax 1
            0, 0, 0, 4, 0, // row 1: argmax 3
            2, 0, 0, 0, 1, // row 2: argmax 0
            0, 0, 0, 0, 9, // row 3: argmax 4 (the bonus)
        };
        DraftVerifier v = new DraftVerifier(vocab);
        Sampler greedy = Sampler.greedy();
        assertResult(v.verify(logits, Draft.greedy(new int[] {1, 3, 0}), greedy), 3, 4);
        assertResult(v.verify(logits, Draft.greedy(new int[] {1, 3, 2}), greedy), 2, 0);
        assertResult(v.verify(logits, Draft.greedy(new int[] {2, 3, 0}), greedy), 0, 1);
        assertResult(v.verify(logits, Draft.greedy(new int[] {1}), greedy), 1, 3);
        long before = greedy.state();
        v.verify(logits, Draft.greedy(new int[] {1}), greedy);
        assertEquals(before, greedy.state(), "greedy draws nothing");
    }

    @Test
    void aSamplingStepAdvancesTheSamplerByExactlyOneDrawAndIsReproducible() {
        int vocab = 6;
        float[] logits = randomLogits(new Random(3), 3, vocab);
        Draft d = proposal(new Random(4), logits, vocab, 2, new Proposer(1f, 3, 9));
        Sampler a = new Sampler(1f, 1f, 123), b = new Sampler(1f, 1f, 123);
        DraftVerifier.Result r1 = new DraftVerifier(vocab).verify(logits, d, a);
        b.sample(new float[] {0f}); // one draw
        assertEquals(b.state(), a.state());
        Sampler c = new Sampler(1f, 1f, 123);
        DraftVerifier.Result r2 = new DraftVerifier(vocab).verify(logits, d, c);
        assertEquals(r1.accepted, r2.accepted);
        assertEquals(r1.next, r2.next);
    }

    @Test
    void speculativeSamplingMatchesTheTargetDistributionOnASmallVocabulary() {
        int vocab = 6, trials = 20_000;
        Random rnd = new Random(11);
        float[] target = randomLogits(rnd, 1, vocab);       // the cloud's logits at the first position
        float[] drafterLogits = randomLogits(rnd, 1, vocab); // a different, imperfect drafter
        for (float topP : new float[] {1f, 0.8f}) {
            Sampler ref = new Sampler(0.9f, topP, 1);
            float[] p = new float[vocab];
            ref.distribution(target, p);
            // The sampler's own draws follow p too (the distribution is what sample() draws from).
            long[] plain = new long[vocab];
            for (int i = 0; i < trials; i++) plain[ref.sample(target)]++;
            assertTrue(chi2(plain, p, trials) < CHI2_5, "sample() vs distribution(): chi2 " + chi2(plain, p, trials));

            long[] counts = new long[vocab];
            Proposer proposer = new Proposer(0.9f, 3, 77);
            DraftVerifier v = new DraftVerifier(vocab);
            float[] rows = new float[2 * vocab];
            System.arraycopy(target, 0, rows, 0, vocab);
            for (int i = 0; i < trials; i++) {
                int drafted = proposer.propose(drafterLogits);
                Draft d = Draft.sampled(new int[] {drafted}, new int[][] {proposer.proposalIds()}, new float[][] {proposer.proposalProbs()});
                // the row after the draft: any logits (only used when the draft is kept)
                System.arraycopy(drafterLogits, 0, rows, vocab, vocab);
                DraftVerifier.Result r = v.verify(rows, d, new Sampler(0.9f, topP, 1000 + i));
                counts[r.accepted == 1 ? drafted : r.next]++;
            }
            double x2 = chi2(counts, p, trials);
            assertTrue(x2 < CHI2_5, "top-p " + topP + ": chi2 " + x2 + " (df 5)");
        }
    }

    @Test
    void speculativeSamplingMatchesTheModelsDistributionWithAQ4DraftModel() {
        Transformer full = new Transformer(TestModel.full(), KernelProvider.best(), TestModel.TEAM);
        Transformer q4 = new Transformer(ModelQuantizer.apply(TestModel.full(), PrecisionPlan.uniform(WeightFormat.Q4_0)),
                KernelProvider.best(), TestModel.TEAM);
        int[] prompt = {1, 9038, 2501, 263, 931}; // "Once upon a time"
        float[] target = lastLogits(full, prompt), draft = lastLogits(q4, prompt);
        int vocab = target.length, trials = 6_000;
        Sampler ref = new Sampler(1f, 1f, 1);
        float[] p = new float[vocab];
        ref.distribution(target, p);
        // Bins: the 9 most likely tokens and the rest.
        int[] top = topIndices(p, 9);
        float[] binP = new float[10];
        for (int i = 0; i < vocab; i++) binP[bin(top, i)] += p[i];
        long[] counts = new long[10];
        Proposer proposer = new Proposer(1f, 4, 5);
        DraftVerifier v = new DraftVerifier(vocab);
        float[] rows = new float[2 * vocab];
        System.arraycopy(target, 0, rows, 0, vocab);
        int kept = 0;
        for (int i = 0; i < trials; i++) {
            int drafted = proposer.propose(draft);
            Draft d = Draft.sampled(new int[] {drafted}, new int[][] {proposer.proposalIds()}, new float[][] {proposer.proposalProbs()});
            DraftVerifier.Result r = v.verify(rows, d, new Sampler(1f, 1f, 5000 + i));
            kept += r.accepted;
            counts[bin(top, r.accepted == 1 ? drafted : r.next)]++;
        }
        double x2 = chi2(counts, binP, trials);
        assertTrue(x2 < CHI2_9, "chi2 " + x2 + " (df 9)");
        assertTrue(kept > trials / 2, "a Q4_0 copy of the model is kept more often than not: " + kept + "/" + trials);
    }

    private static float[] lastLogits(Transformer tf, int[] ids) {
        var s = tf.newState(0, tf.config().nLayers(), 16);
        float[] x = tf.embed(ids);
        tf.forward(s, x, ids.length);
        return tf.lastLogits(x, ids.length);
    }

    private static int bin(int[] top, int token) {
        for (int i = 0; i < top.length; i++) if (top[i] == token) return i;
        return top.length;
    }

    private static int[] topIndices(float[] p, int n) {
        int[] top = new int[n];
        boolean[] used = new boolean[p.length];
        for (int j = 0; j < n; j++) {
            int best = -1;
            for (int i = 0; i < p.length; i++) if (!used[i] && (best < 0 || p[i] > p[best])) best = i;
            used[best] = true;
            top[j] = best;
        }
        return top;
    }

    static double chi2(long[] counts, float[] p, int n) {
        double x2 = 0;
        for (int i = 0; i < counts.length; i++) {
            double e = p[i] * (double) n;
            if (e == 0) {
                if (counts[i] > 0) return Double.POSITIVE_INFINITY; // a token the target never draws
                continue;
            }
            x2 += (counts[i] - e) * (counts[i] - e) / e;
        }
        return x2;
    }

    private static float[] randomLogits(Random r, int rows, int vocab) {
        float[] x = new float[rows * vocab];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 1.2);
        return x;
    }

    private static Draft proposal(Random r, float[] logits, int vocab, int k, Proposer proposer) {
        int[] ids = new int[k];
        int[][] pIds = new int[k][];
        float[][] pP = new float[k][];
        for (int i = 0; i < k; i++) {
            float[] row = java.util.Arrays.copyOfRange(logits, i * vocab, (i + 1) * vocab);
            for (int j = 0; j < vocab; j++) row[j] += (float) r.nextGaussian();
            ids[i] = proposer.propose(row);
            pIds[i] = proposer.proposalIds();
            pP[i] = proposer.proposalProbs();
        }
        return Draft.sampled(ids, pIds, pP);
    }

    private static void assertResult(DraftVerifier.Result r, int accepted, int next) {
        assertEquals(accepted, r.accepted, "accepted");
        assertEquals(next, r.next, "next");
    }
}
