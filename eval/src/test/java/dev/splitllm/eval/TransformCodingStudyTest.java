package dev.splitllm.eval;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.forward.Transformer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The transform-coding study's parts on the real stories15M: its algebra, its estimator, its coder. */
class TransformCodingStudyTest {
    @Test
    void eigenDecompositionReconstructsTheMatrix() {
        Random random = new Random(3);
        int n = 24;
        double[][] a = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                a[i][j] = a[j][i] = random.nextGaussian();
            }
        }
        SymmetricEigen e = new SymmetricEigen(a);
        double[][] back = e.apply(v -> v);
        double[][] vtv = TransformCodingStudy.multiply(TransformCodingStudy.transpose(e.vectors), e.vectors);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(a[i][j], back[i][j], 1e-9, "V diag(λ) Vᵀ at " + i + "," + j);
                assertEquals(i == j ? 1 : 0, vtv[i][j], 1e-9, "VᵀV at " + i + "," + j);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new SymmetricEigen(new double[][] {{1, 2}, {3}}));
    }

    @Test
    void transformsInvertAndTheFisherModelPredictsTheMeasuredKl() {
        Transformer tf = TestModel.transformer();
        int split = 3;
        TransformCodingStudy study = new TransformCodingStudy(tf, split);
        List<float[]> all = new ArrayList<>();
        for (float[][] h : CodecCalibration.hiddenStates(tf, TestModel.tokenizer())) {
            all.add(h[split]);
        }
        List<float[]> calibration = all.subList(0, 8), test = all.subList(8, 10);
        double[] mean = study.mean(calibration);
        double[][] cov = study.covariance(calibration, mean);
        double[][] fisher = study.fisher(calibration.subList(0, 1), 1);
        int d = tf.config().dim();
        for (int i = 0; i < d; i++) {
            assertTrue(fisher[i][i] > 0, "the Fisher information is positive on every channel");
            for (int j = 0; j < d; j++) {
                assertEquals(fisher[i][j], fisher[j][i], 0.0);
            }
        }
        for (TransformCodingStudy.Transform tr : List.of(study.klt(cov), study.fisherKlt(fisher, cov), study.randomRotation(1))) {
            double[][] id = TransformCodingStudy.multiply(tr.inverse, tr.forward);
            for (int i = 0; i < d; i++) {
                for (int j = 0; j < d; j++) {
                    assertEquals(i == j ? 1 : 0, id[i][j], 1e-6, tr.name() + ": inverse · forward at " + i + "," + j);
                }
            }
        }
        // The coder: a tiny step is near lossless and expensive, a coarse one cheap and lossy; for an
        // orthonormal transform the Fisher model predicts the measured KL (on held-out text) within 2x.
        TransformCodingStudy.Transform rotation = study.randomRotation(1);
        TransformCodingStudy.Point fine = study.simulate(rotation, 1e-3, calibration, test, mean, cov, fisher, null);
        TransformCodingStudy.Point mid = study.simulate(rotation, 0.03, calibration, test, mean, cov, fisher, null);
        TransformCodingStudy.Point coarse = study.simulate(rotation, 0.1, calibration, test, mean, cov, fisher, null);
        assertTrue(fine.meanKl < 1e-6, "step 1e-3: KL " + fine.meanKl);
        assertTrue(fine.bitsPerElement > mid.bitsPerElement + 4 && mid.bitsPerElement > coarse.bitsPerElement + 1.5,
                "bits fall as the step grows: " + fine.bitsPerElement + ", " + mid.bitsPerElement + ", " + coarse.bitsPerElement);
        assertTrue(coarse.meanKl > 5 * mid.meanKl, "KL grows with the step: " + mid.meanKl + " -> " + coarse.meanKl);
        double ratio = mid.meanKl / mid.predictedKl;
        assertTrue(ratio > 0.5 && ratio < 2, "measured " + mid.meanKl + " vs predicted " + mid.predictedKl);
    }

    @Test
    void predictionFromThePreviousTokenFindsWhatAnAutoregressiveSignalOffers() {
        TransformCodingStudy study = new TransformCodingStudy(TestModel.transformer(), 3);
        int d = TestModel.transformer().config().dim();
        Random random = new Random(5);
        List<float[]> autoregressive = new ArrayList<>(), independent = new ArrayList<>();
        for (int s = 0; s < 54; s++) { // 50 x 40 fitting rows: well over d = 288 unknowns per channel
            float[] rep = new float[40 * d], ind = new float[40 * d];
            for (int c = 0; c < d; c++) {
                // AR(1) with coefficient 0.95: the previous token explains 90 % of the variance
                float v = (float) random.nextGaussian();
                for (int t = 0; t < 40; t++) {
                    v = 0.95f * v + (float) (Math.sqrt(1 - 0.95 * 0.95) * random.nextGaussian());
                    rep[t * d + c] = v;
                    ind[t * d + c] = (float) random.nextGaussian();
                }
            }
            autoregressive.add(rep);
            independent.add(ind);
        }
        double[] mean = new double[d];
        double repeat = study.predictionGain(autoregressive.subList(0, 50), autoregressive.subList(50, 54), mean, true);
        // ideal: ½ log2(1 / (1 − 0.95²)) = 1.68 bits
        assertTrue(repeat > 1.5 && repeat < 1.8, "AR(1) tokens: " + repeat);
        double full = study.predictionGain(autoregressive.subList(0, 50), autoregressive.subList(50, 54), mean, false);
        assertTrue(full > 0.5 && full < repeat, "d x d coefficients on 1,950 correlated tokens overfit: " + full);
        double none = study.predictionGain(independent.subList(0, 50), independent.subList(50, 54), mean, true);
        assertTrue(Math.abs(none) < 0.3, "independent tokens: " + none);
        assertThrows(IllegalArgumentException.class, () -> new TransformCodingStudy(TestModel.transformer(), 0));
    }
}
