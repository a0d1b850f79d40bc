package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** fetch-model failures end with exit code 1 and a clear message (no network needed). */
class FetchModelCommandTest {
    @TempDir
    Path tmp;

    String oldCache, oldNpm;

    @BeforeEach
    void save() {
        oldCache = System.getProperty("splitllm.cache");
        oldNpm = System.getProperty("splitllm.npm");
    }

    @AfterEach
    void restore() {
        set("splitllm.cache", oldCache);
        set("splitllm.npm", oldNpm);
    }

    static void set(String key, String value) {
        if (value == null) System.clearProperty(key);
        else System.setProperty(key, value);
    }

    @Test
    void missingNpmIsClearFailure() {
        System.setProperty("splitllm.cache", tmp.resolve("cache").toString());
        System.setProperty("splitllm.npm", tmp.resolve("no-npm-here").toString());
        Run r = Run.of("fetch-model");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("splitllm: error: cannot run '" + tmp.resolve("no-npm-here")), r.toString());
        assertTrue(r.err().contains("Install Node.js and npm"), r.toString());
    }

    @Test
    void unwritableCacheIsClearFailure() throws Exception {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        System.setProperty("splitllm.cache", file.resolve("sub").toString());
        Run r = Run.of("fetch-model");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("cannot create the model cache folder"), r.toString());
        // generate with the default model fails the same way, before loading anything
        Run g = Run.of("generate", "-n", "1");
        assertEquals(1, g.code(), g.toString());
        assertTrue(g.err().contains("cannot create the model cache folder"), g.toString());
    }
}
