package dev.splitllm.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.quantization.kv.KvDelta;
import dev.splitllm.quantization.kv.KvDeltaCodec;
import dev.splitllm.quantization.kv.KvFrameException;
import dev.splitllm.quantization.kv.KvLimits;
import dev.splitllm.quantization.kv.KvSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The KV delta study on the real stories15M: the lossless kind changes nothing, lossy kinds cost what they should. */
class KvDeltaStudyTest {
    @Test
    void fp32KvIsLosslessAndLossyKindsCostInBitOrder() {
        KvDeltaStudy study = new KvDeltaStudy(TestModel.transformer(), TestModel.tokenizer().eos());
        List<int[]> prompts = KvDeltaStudy.storyPrompts(TestModel.tokenizer(), 2);
        List<KvSpec> kinds = List.of(KvSpec.FP32, KvSpec.DEFAULT, KvSpec.kivi(4, 4, 32), KvSpec.kivi(2, 0, 32));
        List<KvDeltaStudy.Row> rows = study.run(prompts, 12, 4, new int[][] {{1, 3}}, kinds);
        assertEquals(4, rows.size());
        KvDeltaStudy.Row fp32 = rows.get(0), b8 = rows.get(1), b4w = rows.get(2), b2 = rows.get(3);
        // bit-exact: the replaced cache equals the original, so the logits are the untouched run's
        assertEquals(0.0, fp32.klSum());
        assertEquals(fp32.positions(), fp32.agreements());
        assertTrue(fp32.positions() >= 2 * 7, "scored " + fp32.positions());
        assertTrue(fp32.bitsPerElement() > 32 && fp32.bitsPerElement() < 32.1, "fp32 " + fp32.bitsPerElement());
        // the default 8-bit kind: under 9 b/el with its side information, KL below the activation codec's ~1e-4
        assertTrue(b8.bitsPerElement() < 9, "8-bit " + b8.bitsPerElement());
        assertTrue(b8.meanKl() > 0 && b8.meanKl() < 1e-4, "8-bit KL " + b8.meanKl());
        assertTrue(b2.bitsPerElement() < 3, "2-bit " + b2.bitsPerElement());
        assertTrue(b2.meanKl() > b8.meanKl() * 10, "2-bit KL " + b2.meanKl() + " vs 8-bit " + b8.meanKl());
        assertTrue(b4w.meanKl() > b8.meanKl() && b4w.meanKl() < b2.meanKl(), "4-bit window KL " + b4w.meanKl());
        assertTrue(KvDeltaStudy.table(rows).contains("`kivi:bits=8`"));
    }

    /** Real KV rows of stories15M through every kind: fp32 bit-exact, each quantized value within its group's half step. */
    @Test
    void realKvRowsDecodeWithinTheDocumentedBounds() throws KvFrameException {
        Transformer t = TestModel.transformer();
        int[] prompt = KvDeltaStudy.storyPrompts(TestModel.tokenizer(), 1).get(0);
        int n = prompt.length, kvDim = t.config().kvDim();
        SegmentState st = t.newState(n);
        t.forward(st, t.embed(prompt), n);
        float[][] k = new float[3][], v = new float[3][];
        for (int l = 0; l < 3; l++) {
            k[l] = st.keysOf(l, n);
            v[l] = st.valuesOf(l, n);
        }
        for (String name : new String[] {"fp32", "kivi:bits=8", "kivi:bits=4,window=3", "kivi:bits=2,group=5"}) {
            KvSpec spec = KvSpec.parse(name);
            byte[] f = KvDeltaCodec.encode(spec, 42, 2, 0, 0, n, kvDim, k, v);
            KvDelta d = KvDeltaCodec.decode(f, KvLimits.of(0, 3, t.config().seqLen(), kvDim).withEpoch(2));
            int w = spec.lossless() ? n : Math.min(spec.window(), n), q = n - w;
            int levels = spec.lossless() ? 1 : (1 << spec.bits()) - 1, group = spec.lossless() ? 1 : spec.group();
            for (int l = 0; l < 3; l++) {
                for (int g0 = 0; g0 < q; g0 += group) {
                    for (int c = 0; c < kvDim; c++) {
                        float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
                        for (int p = g0; p < Math.min(q, g0 + group); p++) {
                            lo = Math.min(lo, k[l][p * kvDim + c]);
                            hi = Math.max(hi, k[l][p * kvDim + c]);
                        }
                        double bound = bound(lo, hi, levels);
                        for (int p = g0; p < Math.min(q, g0 + group); p++) {
                            assertTrue(Math.abs(k[l][p * kvDim + c] - d.keys()[l][p * kvDim + c]) <= bound, name);
                        }
                    }
                }
                for (int p = 0; p < q; p++) {
                    float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
                    for (int c = 0; c < kvDim; c++) {
                        lo = Math.min(lo, v[l][p * kvDim + c]);
                        hi = Math.max(hi, v[l][p * kvDim + c]);
                    }
                    double bound = bound(lo, hi, levels);
                    for (int c = 0; c < kvDim; c++) {
                        assertTrue(Math.abs(v[l][p * kvDim + c] - d.values()[l][p * kvDim + c]) <= bound, name);
                    }
                }
                for (int i = q * kvDim; i < n * kvDim; i++) {
                    assertEquals(Float.floatToRawIntBits(k[l][i]), Float.floatToRawIntBits(d.keys()[l][i]), name);
                    assertEquals(Float.floatToRawIntBits(v[l][i]), Float.floatToRawIntBits(d.values()[l][i]), name);
                }
            }
        }
    }

    /** s/2 of the documented quantizer (fp16 minimum rounded down, fp16 scale rounded up) plus float rounding. */
    private static double bound(float lo, float hi, int levels) {
        double widened = (hi - lo) + Math.abs(lo) * Math.pow(2, -10) + 6e-8;
        return 0.5 * widened / levels * (1 + Math.pow(2, -9)) + Math.ulp(Math.max(Math.abs(lo), Math.abs(hi))) * 2;
    }
}
