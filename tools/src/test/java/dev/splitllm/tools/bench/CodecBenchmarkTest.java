package dev.splitllm.tools.bench;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.quantization.codec.CodecSpec;
import org.junit.jupiter.api.Test;

/** Checks what the benchmark reports, never how fast it is. */
class CodecBenchmarkTest {

    @Test
    void reportsSizesAndErrorsOfTheRealCodec() {
        CodecBenchmark.Result uniform = CodecBenchmark.run(CodecSpec.uniform(4), 2, 288, 0.01);
        assertEquals(8.0 * (4 + 144) / 288, uniform.bitsPerElement(), 1e-12);
        assertTrue(uniform.encodeGBps() > 0 && uniform.decodeGBps() > 0 && uniform.roundTripGBps() > 0);
        assertTrue(uniform.roundTripGBps() < Math.min(uniform.encodeGBps(), uniform.decodeGBps()));
        CodecBenchmark.Result fp32 = CodecBenchmark.run(CodecSpec.fp32(), 1, 64, 0.01);
        assertEquals(32.0, fp32.bitsPerElement(), 1e-12);
        assertEquals(0.0, fp32.relativeMse(), 0.0);
        // The synthetic data has large outlier channels: TS must beat plain min-max at equal width.
        CodecBenchmark.Result plain = CodecBenchmark.run(CodecSpec.parse("tabq:eps=0.01,bits=4"), 16, 288, 0.01);
        CodecBenchmark.Result split = CodecBenchmark.run(CodecSpec.parse("tabq:eps=0.01,bits=4,tau=6"), 16, 288, 0.01);
        assertTrue(split.relativeMse() < plain.relativeMse() / 10, split.relativeMse() + " vs " + plain.relativeMse());
        assertTrue(uniform.line().startsWith("uniform:bits=4"));
    }

    @Test
    void syntheticActivationsAreSeededAndHaveOutlierChannels() {
        float[] a = CodecBenchmark.activations(8, 288, 3);
        assertArrayEquals(a, CodecBenchmark.activations(8, 288, 3));
        for (int t = 0; t < 8; t++) {
            assertTrue(Math.abs(a[t * 288 + 5]) >= 18f, "channel 5 is an outlier channel");
        }
    }

    @Test
    void calibratesTablesForTemplatesAndTimesTheStages() {
        // a mean/ans template gets tables calibrated on other synthetic rows; rANS must beat packed codes
        CodecBenchmark.Result packed = CodecBenchmark.run(CodecSpec.parse("tabq:eps=3e-4,bits=2/3/4/5/6/7/8,tau=6,rot"), 16, 288, 0.01);
        CodecBenchmark.Result coded = CodecBenchmark.run(CodecSpec.parse("tabq:eps=3e-4,bits=2/3/4/5/6/7/8,tau=6,rot,ans"), 16, 288, 0.01);
        assertTrue(coded.bitsPerElement() < packed.bitsPerElement(), coded.bitsPerElement() + " vs " + packed.bitsPerElement());
        assertEquals(packed.relativeMse(), coded.relativeMse(), 0.0, "rANS is lossless over the codes");
        assertEquals(0L, coded.spec().tablesHash(), "results name the template, not one run's tables");
        java.util.List<CodecBenchmark.StageResult> stages = CodecBenchmark.runStages(288, 0.01);
        assertEquals(2, stages.size());
        for (CodecBenchmark.StageResult r : stages) {
            assertTrue(r.roundTripGBps() > 0 && r.roundTripGBps() < Math.min(r.forwardGBps(), r.inverseGBps()), r.line());
        }
        assertTrue(stages.get(0).stage().contains("block 32"));
    }
}
