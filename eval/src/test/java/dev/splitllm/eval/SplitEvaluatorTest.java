package dev.splitllm.eval;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.quantization.codec.CodecSpec;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The measurement core on the real stories15M model and the real codec. */
class SplitEvaluatorTest {
    static final String TEXT = "Once upon a time, there was a little girl named Lily. She loved to play outside. "
            + "One day she saw a big red ball in the park and ran to get it.";

    static SplitEvaluator evaluator() {
        return new SplitEvaluator(TestModel.transformer(), TestModel.tokenizer().eos());
    }

    static ModelVariant f32() {
        return new ModelVariant("f32", TestModel.transformer());
    }

    static int[] window() {
        return TestModel.tokenizer().encode(TEXT, true);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 5})
    void losslessWireGivesZeroKlAndZeroDeltaPpl(int split) {
        SplitEvaluator ev = evaluator();
        Reference ref = ev.reference(TestModel.tokenizer().encode("Once upon a time", true), 24);
        PerplexityStats base = new PerplexityStats();
        ev.perplexity(window(), base);
        for (CodecSpec spec : List.of(CodecSpec.fp32(), CodecSpec.fp32().withZstd())) {
            SplitConfig cfg = new SplitConfig(split, f32(), new CodecWire(spec));
            QualityStats q = new QualityStats();
            BitsTally bits = new BitsTally();
            ev.measure(cfg, ref, q, bits);
            assertEquals(0.0, q.meanKl(), spec + ": KL must be exactly 0");
            assertEquals(1.0, q.agreement());
            assertEquals(24.0, q.meanPrefix());
            QualityStats p = new QualityStats();
            ev.measure(cfg, ev.text(window(), window().length), p, bits);
            assertEquals(base.meanNll(), p.split().meanNll(), 0.0, spec + ": split NLL must equal the unsplit NLL exactly");
            assertEquals(base.meanNll(), p.fp32().meanNll(), 0.0, spec + ": the meter's fp32 NLL is the unsplit model's");
            assertEquals(0.0, p.deltaPerplexity());
            assertEquals(0.0, p.meanKl());
            assertEquals(1.0, p.agreement());
            assertEquals(23, bits.decodeFrames(), "one decode frame per teacher-forced token after the prompt");
            assertEquals(2, bits.prefillFrames());
            if (!spec.zstd()) {
                assertEquals(32.0, bits.decodeBitsPerElement());
                assertEquals(32.0, bits.prefillBitsPerElement());
            }
        }
    }

    @Test
    void lossyCodecIsMeasuredNotAssumed() {
        SplitEvaluator ev = evaluator();
        Reference ref = ev.reference(TestModel.tokenizer().encode("Tom had a red kite.", true), 16);
        QualityStats coarse = new QualityStats();
        QualityStats fine = new QualityStats();
        BitsTally coarseBits = new BitsTally(), fineBits = new BitsTally();
        ev.measure(new SplitConfig(2, f32(), new CodecWire(CodecSpec.uniform(2))), ref, coarse, coarseBits);
        ev.measure(new SplitConfig(2, f32(), new CodecWire(CodecSpec.q8_0())), ref, fine, fineBits);
        assertTrue(coarse.meanKl() > 0, "2-bit activations must disturb the distribution");
        assertTrue(fine.meanKl() > 0);
        assertTrue(coarse.meanKl() > 10 * fine.meanKl(), coarse.meanKl() + " vs " + fine.meanKl());
        assertEquals(8.5, fineBits.decodeBitsPerElement(), 1e-12, "Q8_0 is 34 bytes per 32 values");
        assertEquals((4 + 72) * 8.0 / 288, coarseBits.decodeBitsPerElement(), 1e-12, "2-bit row: 4 bytes side info + 72 bytes codes");
    }

    @Test
    void textSequenceIsOnePrefillFrameThenOneDecodeFramePerToken() {
        SplitEvaluator ev = evaluator();
        int[] ids = window();
        int prompt = 8;
        Reference ref = ev.text(ids, prompt);
        assertEquals(ids.length - 1, ref.length(), "every position with a next token is scored");
        assertArrayEquals(java.util.Arrays.copyOf(ids, prompt), ref.prompt());
        assertArrayEquals(java.util.Arrays.copyOfRange(ids, 1, ids.length), ref.generated());
        QualityStats q = new QualityStats();
        BitsTally bits = new BitsTally();
        ev.measure(new SplitConfig(3, f32(), new CodecWire(CodecSpec.q8_0())), ref, q, bits);
        assertEquals(1, bits.prefillFrames());
        assertEquals(ids.length - prompt, bits.decodeFrames());
        assertEquals(ids.length - 1, q.positions());
        assertTrue(q.meanKl() > 0 && q.deltaPerplexity() != 0, "Q8_0 is lossy");
        PerplexityStats base = new PerplexityStats();
        ev.perplexity(ids, base);
        assertEquals(base.meanNll(), q.fp32().meanNll(), 0.0, "the fp32 side does not depend on the prompt length");
        assertEquals(q.split().perplexity() - base.perplexity(), q.deltaPerplexity(), 0.0);
    }

    @Test
    void batchedEvaluationEqualsStepByStepRuntimeLoop() {
        Reference ref = evaluator().reference(TestModel.tokenizer().encode("The cat sat on the mat.", true), 12);
        CodecSpec spec = CodecSpec.tabq(1e-2f, CodecSpec.DEFAULT_BIT_MASK, 2.0f).withZstd();
        for (int split : new int[] {1, 4}) {
            SplitConfig cfg = new SplitConfig(split, f32(), new CodecWire(spec));
            QualityStats a = new QualityStats(), b = new QualityStats();
            BitsTally ta = new BitsTally(), tb = new BitsTally();
            evaluator().measure(cfg, ref, a, ta);
            evaluator().stepwise(true).measure(cfg, ref, b, tb);
            assertEquals(a.meanKl(), b.meanKl(), 0.0);
            assertEquals(a.agreement(), b.agreement(), 0.0);
            assertEquals(a.meanPrefix(), b.meanPrefix(), 0.0);
            assertEquals(ta.decodeBitsPerElement(), tb.decodeBitsPerElement(), 0.0);
            assertEquals(a.deltaPerplexity(), b.deltaPerplexity(), 0.0);
            assertTrue(a.meanKl() > 0);
        }
        // The same for a text whose prompt is shorter than the sequence.
        SplitConfig cfg = new SplitConfig(2, f32(), new CodecWire(spec));
        Reference text = evaluator().text(window(), 5);
        QualityStats a = new QualityStats(), b = new QualityStats();
        BitsTally ta = new BitsTally(), tb = new BitsTally();
        evaluator().measure(cfg, text, a, ta);
        evaluator().stepwise(true).measure(cfg, text, b, tb);
        assertEquals(a.meanKl(), b.meanKl(), 0.0);
        assertEquals(a.agreement(), b.agreement(), 0.0);
        assertEquals(a.deltaPerplexity(), b.deltaPerplexity(), 0.0);
        assertEquals(ta.prefillBitsPerElement(), tb.prefillBitsPerElement(), 0.0);
        assertEquals(ta.decodeBitsPerElement(), tb.decodeBitsPerElement(), 0.0);
    }

    @Test
    void noOpActivationHookLeavesTheForwardUnchanged() {
        Transformer plain = TestModel.transformer();
        Transformer hooked = new dev.splitllm.engine.forward.HookedTransformer(TestModel.full(), KernelProvider.best(), TestModel.TEAM, (l, s, x, t, w) -> { });
        int[] ids = window();
        float[] a = plain.embed(ids), b = hooked.embed(ids);
        plain.forward(plain.newState(ids.length), a, ids.length);
        hooked.forward(hooked.newState(ids.length), b, ids.length);
        assertArrayEquals(a, b);
    }

    @Test
    void rejectsBadInput() {
        SplitEvaluator ev = evaluator();
        assertThrows(IllegalArgumentException.class, () -> ev.reference(new int[0], 4));
        assertThrows(IllegalArgumentException.class, () -> ev.reference(new int[] {1}, 0));
        assertThrows(IllegalArgumentException.class, () -> ev.reference(new int[200], 100));
        assertThrows(IllegalArgumentException.class, () -> new SplitConfig(7, f32(), new CodecWire(CodecSpec.fp16())));
        assertThrows(IllegalArgumentException.class, () -> ev.perplexity(new int[] {1}, new PerplexityStats()));
        assertThrows(IllegalArgumentException.class, () -> ev.perplexity(new int[300], new PerplexityStats()));
        assertThrows(IllegalArgumentException.class, () -> ev.text(window(), 0));
        assertThrows(IllegalArgumentException.class, () -> ev.text(new int[] {1, 40000}, 1));
    }
}
