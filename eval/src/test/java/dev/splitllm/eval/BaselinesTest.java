package dev.splitllm.eval;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.quantization.codec.CodecSpec;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** SmoothQuant W8A8 and Atom W4A4 baselines on the real model. */
class BaselinesTest {
    static final String CALIB = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. "
            + "One day, she saw a big, red ball in the sky. It was the sun! She thought it was so pretty. "
            + "Lily wanted to play with the ball, but it was too high. She asked her mom to help her.";

    static Calibration calibration() {
        return Calibration.collect(TestModel.full(), KernelProvider.best(), TestModel.TEAM,
                List.of(TestModel.tokenizer().encode(CALIB, true)));
    }

    @Test
    void smoothingAloneDoesNotChangeTheLayerOutput() {
        LayerWeights w = TestModel.full().layer(2);
        int d = w.wq().cols();
        Random rnd = new Random(7);
        float[] x = new float[d];
        float[] xMax = new float[d];
        for (int j = 0; j < d; j++) {
            x[j] = (float) rnd.nextGaussian();
            xMax[j] = 0.1f + 10 * rnd.nextFloat();
        }
        float[] wq = SmoothQuantBaseline.copy(w.wq());
        float[][] mats = {wq.clone()};
        float[] g = SmoothQuantBaseline.smooth(w.rmsAtt(), xMax, mats, d, 0.5);
        for (int r = 0; r < w.wq().rows(); r += 37) {
            double a = 0, b = 0;
            for (int j = 0; j < d; j++) {
                a += wq[r * d + j] * (w.rmsAtt()[j] * x[j]);
                b += mats[0][r * d + j] * (g[j] * x[j]);
            }
            assertEquals(a, b, 1e-4 * (1 + Math.abs(a)));
        }
    }

    @Test
    void atomFormatKeepsTheLargestChannelsAtInt8AndCountsItsBits() {
        float[] max = new float[288];
        for (int c = 0; c < 288; c++) {
            max[c] = c % 9 == 0 ? 100 + c : 1;
        }
        AtomFormat f = new AtomFormat(max, 32, 128);
        for (int c : f.outlierChannels()) {
            assertEquals(0, c % 9);
        }
        assertEquals(256, f.normalChannels().length);
        assertEquals(32 * 8 + 16 + 256 * 4 + 2 * 24, f.bitsPerRow(288));
        AtomFormat wide = new AtomFormat(new float[768], 32, 128);
        assertEquals(32 * 8 + 16 + 736 * 4 + 6 * 24, wide.bitsPerRow(768));
        float[] row = new float[288];
        for (int c = 0; c < 288; c++) {
            row[c] = c % 9 == 0 ? 50f : (float) Math.sin(c);
        }
        float[] q = row.clone();
        f.apply(q, 1, 288);
        for (int c = 0; c < 288; c++) {
            assertEquals(row[c], q[c], c % 9 == 0 ? 0.25 : 2.0 / 15 / 2 + 1e-3, "channel " + c);
        }
        assertThrows(IllegalArgumentException.class, () -> new AtomFormat(max, 288, 128));
    }

    @Test
    void baselinesRunInTheSplitFrameworkWithTheExpectedOrdering() {
        Calibration cal = calibration();
        Baseline sq = SmoothQuantBaseline.build(TestModel.full(), cal, 0.5, KernelProvider.best(), TestModel.TEAM);
        Baseline atom = AtomBaseline.build(TestModel.full(), cal, 32, 128, KernelProvider.best(), TestModel.TEAM);
        SplitEvaluator ev = new SplitEvaluator(TestModel.transformer(), TestModel.tokenizer().eos());
        Reference ref = ev.reference(TestModel.tokenizer().encode("Ben and Lily went to the beach.", true), 16);
        QualityStats qs = new QualityStats(), qa = new QualityStats(), q2 = new QualityStats();
        BitsTally bs = new BitsTally(), ba = new BitsTally(), b2 = new BitsTally();
        ev.measure(sq.at(3), ref, qs, bs);
        ev.measure(atom.at(3), ref, qa, ba);
        ev.measure(new SplitConfig(3, new ModelVariant("f32", TestModel.transformer()), new CodecWire(CodecSpec.uniform(2))), ref, q2, b2);
        assertEquals(8 + 16.0 / 288, bs.decodeBitsPerElement(), 1e-12);
        assertEquals(1344.0 / 288, ba.decodeBitsPerElement(), 1e-12);
        assertTrue(qs.meanKl() > 0 && qa.meanKl() > 0);
        assertTrue(qs.meanKl() < qa.meanKl(), "W8A8 must be closer to fp32 than W4A4: " + qs.meanKl() + " vs " + qa.meanKl());
        assertTrue(qs.meanKl() < 0.05, "W8A8 KL " + qs.meanKl());
        assertTrue(qa.meanKl() < 5 && q2.meanKl() > 0, "W4A4 KL " + qa.meanKl());
    }

    @Test
    void fakeQuantPutsValuesOnTheGrid() {
        float[] v = {0.5f, -1.0f, 0.26f, 0.0f};
        FakeQuant.symmetric(v, 0, 4, 8);
        float scale = 1.0f / 127;
        for (float x : v) {
            assertEquals(Math.round(x / scale) * scale, x, 1e-3f);
        }
        assertEquals(-1.0f, v[1], 1e-3f);
    }
}
