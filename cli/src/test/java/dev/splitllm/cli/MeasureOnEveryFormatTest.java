package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.fetch.FetchListener;
import dev.splitllm.fetch.ModelFetcher;
import dev.splitllm.fetch.ModelSpec;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.quantization.weights.WeightFormat;
import dev.splitllm.tools.convert.ModelConverter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code calibrate}, {@code profile} and {@code eval} read every model format through the one
 * loader: on F32 GGUF and safetensors copies of stories15M (each in a folder of its own, so the
 * tokenizer can only come from the model itself) they measure exactly what they measure on the
 * llama2.c file.
 */
class MeasureOnEveryFormatTest {
    @TempDir
    static Path dir;
    static Path bin, gguf, hf, text;

    @BeforeAll
    static void copies() throws Exception {
        bin = ModelFetcher.ensureStories15M(FetchListener.NONE).resolve(ModelSpec.STORIES15M.modelFile());
        gguf = dir.resolve("gguf").resolve("stories15M.gguf");
        Files.createDirectories(gguf.getParent());
        ModelConverter.toGguf(bin, gguf, WeightFormat.F32);
        hf = dir.resolve("hf");
        ModelConverter.toSafetensors(bin, hf, WeightFormat.F32);
        text = dir.resolve("text.txt");
        Files.writeString(text, "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
                + "One day, she saw a big red ball under a tree.");
    }

    static CalibrationTable calibrate(Path model, String name) throws IOException {
        Path out = dir.resolve("calibration-" + name + ".json");
        Run r = Run.of("calibrate", "--model", model.toString(), "--splits", "3", "--codecs", "q8_0", "--weight-formats", "q8_0",
                "--text", text.toString(), "--threads", "2", "--out", out.toString());
        assertEquals(0, r.code(), r.toString());
        return ProfileJson.read(out, CalibrationTable.class, "calibration");
    }

    @Test
    void calibrateGivesTheSameTableOnEveryFormat() throws IOException {
        CalibrationTable ref = calibrate(bin, "bin");
        assertEquals(1, ref.points().size());
        assertTrue(ref.points().get(0).meanKl() > 0, "q8_0 at the cut is lossy: " + ref.points().get(0));
        for (Path copy : List.of(gguf, hf)) {
            CalibrationTable t = calibrate(copy, copy.getFileName().toString());
            assertEquals(ref.points(), t.points(), copy.toString());
            assertEquals(ref.weights(), t.weights(), copy.toString());
            assertEquals(ref.source().get("tokens"), t.source().get("tokens"), "the model's own tokenizer encodes the text the same way");
            assertEquals(shape(ref.model()), shape(t.model()));
        }
    }

    @Test
    void profileReadsEveryFormat() throws IOException {
        DeviceProfile ref = null;
        for (Path model : List.of(bin, gguf, hf)) {
            Path out = dir.resolve("profile-" + model.getFileName() + ".json");
            Run r = Run.of("profile", "--model", model.toString(), "--name", "test", "--formats", "q8_0", "--codecs", "q8_0",
                    "--reps", "1", "--threads", "2", "--out", out.toString());
            assertEquals(0, r.code(), r.toString());
            DeviceProfile p = ProfileJson.read(out, DeviceProfile.class, "device profile");
            assertNotNull(p.codecTiming("q8_0"), model.toString());
            if (ref == null) {
                ref = p;
                continue;
            }
            // Timings differ run to run; what the model determines must not.
            assertEquals(shape(ref.model()), shape(p.model()), model.toString());
            assertEquals(ref.format(WeightFormat.Q8_0).residentBytes(), p.format(WeightFormat.Q8_0).residentBytes(), model.toString());
        }
    }

    @Test
    void evalQuickGivesTheSameReportOnEveryFormat() {
        String ref = tables(evalQuick(bin));
        assertTrue(ref.contains("| 3 | q8_0 | f32 | `q8_0` |"), ref);
        for (Path copy : List.of(gguf, hf)) {
            assertEquals(ref, tables(evalQuick(copy)), copy.toString());
        }
    }

    static String evalQuick(Path model) {
        Run r = Run.of("eval", "--quick", "--model", model.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.toString());
        return r.out();
    }

    /** The report's table rows (the prose line above them carries the run time). */
    static String tables(String markdown) {
        return markdown.lines().filter(l -> l.startsWith("|")).collect(Collectors.joining("\n"));
    }

    static String shape(ModelShape m) {
        return m.toConfig().toString();
    }
}
