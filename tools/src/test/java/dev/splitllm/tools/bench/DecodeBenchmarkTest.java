package dev.splitllm.tools.bench;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.quantization.weights.WeightFormat;
import dev.splitllm.tools.convert.ModelConverter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark runs end to end on a few tokens; no timing is asserted, only what it reports. */
class DecodeBenchmarkTest {

    @Test
    void shortRunReportsEveryFormat() throws IOException {
        List<WeightFormat> formats = List.of(WeightFormat.F32, WeightFormat.Q8_0, WeightFormat.Q4_0);
        List<DecodeBenchmark.Result> results = DecodeBenchmark.run(TestModel.checkpoint(), formats, KernelProvider.best(), 1, 2, 12);
        assertEquals(3, results.size());
        for (int i = 0; i < 3; i++) {
            DecodeBenchmark.Result r = results.get(i);
            assertEquals(formats.get(i), r.format());
            assertEquals(2, r.tokensPerSecond().length);
            assertTrue(r.medianTokensPerSecond() > 0 && Double.isFinite(r.medianTokensPerSecond()));
            assertEquals(12, r.generated().length);
            long expected = new MemoryAccount(TestModel.full().config(), PrecisionPlan.uniform(r.format())).whole(256, 1).weightBytes();
            assertEquals(expected, r.weightBytes());
        }
        assertArrayEquals(results.get(0).generated(), results.get(1).generated(), "q8_0 greedy from BOS matches f32");
    }

    @Test
    void ggufAndSafetensorsCopiesDecodeTheSameTokensAsTheBin(@TempDir Path tmp) throws IOException {
        Path gguf = tmp.resolve("stories15M.gguf"), hf = tmp.resolve("stories15M-hf");
        ModelConverter.toGguf(TestModel.checkpoint(), gguf, WeightFormat.F32);
        ModelConverter.toSafetensors(TestModel.checkpoint(), hf, WeightFormat.F32);
        List<WeightFormat> formats = List.of(WeightFormat.F32, WeightFormat.Q8_0);
        List<DecodeBenchmark.Result> bin = DecodeBenchmark.run(TestModel.checkpoint(), formats, KernelProvider.best(), 1, 1, 10);
        for (Path copy : new Path[] {gguf, hf}) {
            List<DecodeBenchmark.Result> got = DecodeBenchmark.run(copy, formats, KernelProvider.best(), 1, 1, 10);
            for (int i = 0; i < formats.size(); i++) {
                assertEquals(formats.get(i), got.get(i).format());
                assertArrayEquals(bin.get(i).generated(), got.get(i).generated(), copy + " at " + formats.get(i));
                assertEquals(bin.get(i).weightBytes(), got.get(i).weightBytes(), copy + " at " + formats.get(i));
            }
        }
        // An explicit tokenizer.bin gives the same BOS, hence the same tokens.
        List<DecodeBenchmark.Result> explicit = DecodeBenchmark.run(gguf, TestModel.dir().resolve("tokenizer.bin"),
                List.of(WeightFormat.F32), KernelProvider.best(), 1, 1, 10);
        assertArrayEquals(bin.get(0).generated(), explicit.get(0).generated());
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> DecodeBenchmark.run(TestModel.checkpoint(), List.of(WeightFormat.F32), KernelProvider.best(), 1, 0, 8));
        assertThrows(IllegalArgumentException.class,
                () -> DecodeBenchmark.run(TestModel.checkpoint(), List.of(WeightFormat.F32), KernelProvider.best(), 1, 1, 257));
        assertThrows(IllegalArgumentException.class,
                () -> DecodeBenchmark.run(TestModel.checkpoint(), List.of(), KernelProvider.best(), 1, 1, 8));
    }
}
