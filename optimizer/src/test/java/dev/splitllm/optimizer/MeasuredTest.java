package dev.splitllm.optimizer;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.fetch.ModelStore;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.CodecTiming;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.FormatProfile;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.optimizer.profile.WeightQuality;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The profiler and the calibrator on the real stories15M model and the real codec (short runs).
 * Checks structure and invariants, never timings: exact bits per element of the fp32 and
 * uniform codecs, lossless round trip = perfect agreement, coarser codec = lower quality.
 */
class MeasuredTest {
    static final Path DIR = ModelStore.stories15MDir();
    static final String TEXT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her "
            + "friends. One day, she saw a big red ball under a tree. She ran to get it, but a small dog got there first.";

    static final String U8 = "uniform:bits=8", U2 = "uniform:bits=2";

    @Test
    void profilerMeasuresEveryFormatAndTheCodec() throws IOException {
        DeviceProfile p = Profiler.run(DIR.resolve("stories15M.bin"), "test-machine", List.of(WeightFormat.Q8_0), 2, 1,
                List.of("uniform:bits=8"));
        assertEquals("stories15M", p.model().name());
        assertEquals(6, p.model().nLayers());
        assertFalse(p.derived());
        FormatProfile f = p.format(WeightFormat.Q8_0);
        assertNotNull(f);
        assertArrayEquals(new double[] {16, 64, 128}, f.prefillLayerMs().x());
        assertArrayEquals(new double[] {32, 128, 255}, f.decodeLayerMs().x());
        assertTrue(Arrays.stream(f.prefillLayerMs().y()).allMatch(v -> v > 0));
        assertTrue(Arrays.stream(f.decodeLayerMs().y()).allMatch(v -> v > 0));
        assertTrue(f.headMs() > 0);
        assertEquals(new dev.splitllm.engine.model.MemoryAccount(p.model().toConfig(),
                dev.splitllm.engine.model.PrecisionPlan.uniform(WeightFormat.Q8_0)).whole(256, 1).totalBytes(), f.residentBytes());
        CodecTiming ct = p.codecTiming("uniform:bits=8");
        assertEquals("probe", ct.source());
        assertEquals(4, ct.encodeMs().x().length);
        assertEquals("2", p.measuredOn().get("threads"));
        assertEquals(p, ProfileJson.parse(ProfileJson.toJson(p), DeviceProfile.class, "device profile"));
    }

    @Test
    void calibratorMeasuresBitsAndQualityThroughTheCodec() throws IOException {
        Llama2Tokenizer tok = Llama2Tokenizer.load(DIR.resolve("tokenizer.bin"), 32000);
        int[] ids = tok.encode(TEXT, true);
        assertTrue(ids.length > 30, "calibration text too short: " + ids.length);
        CalibrationTable t = Calibrator.run(DIR.resolve("stories15M.bin"), ids, List.of("fp32", U8, U2), List.of(0, 3, 5),
                List.of(WeightFormat.F32, WeightFormat.Q8_0, WeightFormat.Q4_0), 2, "test story");
        assertEquals(9, t.points().size());
        int d = 288;
        for (int l : new int[] {0, 3, 5}) {
            CodecPoint raw = t.point(l, "fp32"), u8 = t.point(l, U8), u2 = t.point(l, U2);
            assertEquals(32.0, raw.decodeBitsPerElement(), 1e-12);
            assertEquals(32.0, raw.prefillBitsPerElement(), 1e-12);
            assertEquals(1.0, raw.agreement(), "lossless codec at split " + l);
            assertEquals(0.0, raw.meanKl(), 1e-6);
            assertEquals(0.0, raw.deltaPpl(), "lossless codec at split " + l);
            assertEquals(8 + 32.0 / d, u8.decodeBitsPerElement(), 1e-12, "8 bits + 4 bytes of side information per row");
            assertEquals(8 + 32.0 / d, u8.prefillBitsPerElement(), 1e-12, "per-row side information in a prefill frame too");
            assertEquals(2 + 32.0 / d, u2.decodeBitsPerElement(), 1e-12);
            assertTrue(u8.meanKl() < u2.meanKl(), "2-bit rows must hurt more than 8-bit rows at split " + l);
            assertTrue(u8.agreement() >= u2.agreement(), "split " + l);
            assertTrue(u8.meanKl() > 0);
        }
        WeightQuality q8 = t.weight(WeightFormat.Q8_0), q4 = t.weight(WeightFormat.Q4_0);
        assertTrue(q8.meanKl() < q4.meanKl(), q8 + " vs " + q4);
        assertTrue(q8.agreement() > 0.8, q8.toString());
        assertEquals(t, ProfileJson.parse(ProfileJson.toJson(t), CalibrationTable.class, "calibration"));
        // Bad input is rejected before any work.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Calibrator.run(DIR.resolve("stories15M.bin"), ids,
                List.of("uniform:bits=99"), List.of(), List.of(), 2, "x"));
        assertTrue(e.getMessage().contains("codec 'uniform:bits=99'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Calibrator.run(DIR.resolve("stories15M.bin"), ids,
                List.of(U8), List.of(6), List.of(), 2, "x"));
        assertTrue(e.getMessage().contains("split 6 outside [0, 5]"), e.getMessage());
    }
}
