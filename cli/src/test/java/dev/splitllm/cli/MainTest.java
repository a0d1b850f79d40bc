package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MainTest {

    @ParameterizedTest
    @ValueSource(strings = {"", "fetch-model", "generate", "bench", "bench engine"})
    void everyCommandHasHelpWithExample(String command) {
        String[] words = command.isEmpty() ? new String[0] : command.split(" ");
        String[] args = java.util.Arrays.copyOf(words, words.length + 1);
        args[words.length] = "--help";
        Run r = Run.of(args);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("Example"), r.toString());
        assertTrue(r.out().contains("./splitllm " + (command.isEmpty() ? "generate" : command)), r.toString());
    }

    @Test
    void sharedOptionsAppearInEveryModelCommand() {
        for (String[] cmd : new String[][] {{"generate", "--help"}, {"bench", "engine", "--help"}, {"fetch-model", "--help"}}) {
            Run r = Run.of(cmd);
            for (String opt : new String[] {"--model", "--tokenizer", "--threads", "--verbose"}) {
                assertTrue(r.out().contains(opt), opt + " missing in " + r);
            }
        }
    }

    @Test
    void unknownOptionIsUsageError() {
        Run r = Run.of("generate", "--no-such-option");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--no-such-option"), r.toString());
    }

    @Test
    void unknownCommandAndMissingCommandAreUsageErrors() {
        assertEquals(2, Run.of("frobnicate").code());
        assertEquals(2, Run.of().code());
        assertEquals(2, Run.of("bench").code());
    }

    @Test
    void badOptionValuesAreUsageErrors() {
        assertEquals(2, Run.of("generate", "--threads", "0").code());
        assertEquals(2, Run.of("generate", "--threads", "many").code());
        assertEquals(2, Run.of("generate", "-n", "-1").code());
        assertEquals(2, Run.of("generate", "--top-p", "1.5").code());
        assertEquals(2, Run.of("generate", "--temperature", "-1").code());
        assertEquals(2, Run.of("bench", "engine", "--runs", "0").code());
    }

    @Test
    void missingModelFileIsRuntimeFailureWithClearMessage(@TempDir Path tmp) {
        Path missing = tmp.resolve("nope.bin");
        Run r = Run.of("generate", "--model", missing.toString());
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("model file not found: " + missing), r.toString());
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r);
        assertEquals(1, r.err().strip().lines().count(), r.toString());
    }

    @Test
    void garbageModelFileIsRuntimeFailure(@TempDir Path tmp) throws Exception {
        Path junk = Files.write(tmp.resolve("junk.bin"), new byte[100]);
        Run r = Run.of("generate", "--model", junk.toString());
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().startsWith("splitllm: error: cannot load the model: "), r.toString());
    }

    @Test
    void verboseAddsStackTrace(@TempDir Path tmp) {
        Run r = Run.of("generate", "--verbose", "--model", tmp.resolve("nope.bin").toString());
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("\tat "), r.toString());
        assertTrue(r.err().contains("kernels: "), r.toString());
    }

    @Test
    void versionPrintsJavaVersion() {
        Run r = Run.of("--version");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Java " + Runtime.version()), r.toString());
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(3.0, BenchEngineCommand.median(new double[] {5, 1, 3}));
        assertEquals(2.5, BenchEngineCommand.median(new double[] {4, 1, 3, 2}));
    }
}
