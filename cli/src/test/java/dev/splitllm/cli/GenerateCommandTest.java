package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Runs the real stories15M model (fetched into the cache on first use). */
class GenerateCommandTest {

    static final String GOLDEN =
            "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.";

    @Test
    void greedyGenerationMatchesRunC() {
        Run r = Run.of("generate", "--temperature", "0", "-n", "21");
        assertEquals(0, r.code(), r.toString());
        assertEquals(GOLDEN, r.out().strip(), r.toString());
        assertTrue(r.err().contains("prompt 5 tokens"), r.toString());
        assertTrue(r.err().contains("generated 21 tokens"), r.toString());
    }

    @Test
    void sameSeedSameTextAndSingleThreadAgrees() {
        Run a = Run.of("generate", "-p", "The cat", "-n", "12", "--temperature", "0.8", "--seed", "7", "--threads", "1");
        Run b = Run.of("generate", "-p", "The cat", "-n", "12", "--temperature", "0.8", "--seed", "7", "--threads", "2");
        assertEquals(0, a.code(), a.toString());
        assertEquals(a.out(), b.out());
        assertTrue(a.out().startsWith("The cat"), a.toString());
        assertTrue(a.err().contains("seed 7"), a.toString());
    }

    @Test
    void zeroTokensPrintsPromptOnly() {
        Run r = Run.of("generate", "--temperature", "0", "-n", "0");
        assertEquals(0, r.code(), r.toString());
        assertEquals("Once upon a time", r.out().strip());
    }

    @Test
    void promptLongerThanContextIsClearFailure() {
        Run r = Run.of("generate", "--prompt", "once ".repeat(400), "-n", "5");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("the model's context holds 256"), r.toString());
    }

    @Test
    void stopsAtTheEndOfTheStory() {
        Run r = Run.of("generate", "--temperature", "0", "-n", "1000");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.err().contains("(stop: end of sequence)"), "llama2.c models end a story with BOS: " + r);
        assertEquals(1, r.out().split("Once upon a time", -1).length - 1, "one story, not the next one: " + r);
    }

    @Test
    void ignoreEosRunsOnUntilTheContextIsFull() {
        Run story = Run.of("generate", "--temperature", "0", "-n", "1000");
        Run r = Run.of("generate", "--temperature", "0", "-n", "1000", "--ignore-eos");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.err().contains("context full (256 positions)"), r.toString());
        assertTrue(r.out().startsWith(story.out().strip()) && r.out().strip().length() > story.out().strip().length() + 20,
                "the same story, then past its end: " + r);
    }

    @Test
    void benchEngineRunsAndReports() {
        Run r = Run.of("bench", "engine", "--tokens", "8", "--runs", "1", "--threads", "2");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("JDK " + Runtime.version()), r.toString());
        assertTrue(r.out().contains("threads=1: runs"), r.toString());
        assertTrue(r.out().contains("threads=2: runs"), r.toString());
        assertTrue(r.out().contains("median"), r.toString());
        assertEquals(2, Run.of("bench", "engine", "--tokens", "257").code());
    }
}
