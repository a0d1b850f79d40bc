package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * {@code demo} and {@code edge} when every block runs on the device (an all-edge plan or
 * {@code --split} = the number of blocks): the whole model runs here, no cloud session is opened,
 * and the text is the unsplit model's.
 */
class AllEdgeRunTest {

    @Test
    void demoWithEveryBlockOnTheEdgeRunsLocallyAndMatchesTheUnsplitModel() {
        Run r = Run.of("demo", "--split", "6", "-n", "21", "--threads", "1");
        assertEquals(0, r.code(), r.toString());
        assertEquals(GenerateCommandTest.GOLDEN, r.out().strip(), r.toString());
        assertTrue(r.err().contains("no split, no cloud session"), r.toString());
        assertTrue(r.err().contains("all 21 tokens identical"), r.toString());
        assertFalse(r.err().contains("cloud server on"), "no server is started: " + r);
    }

    @Test
    void edgeWithEveryBlockOnTheEdgeNeedsNoServer() {
        // The server URL points at a closed port: an all-edge run never contacts it.
        Run r = Run.of("edge", "--server", "http://127.0.0.1:9", "--token", "unused", "--split", "6", "-n", "21", "--threads", "1");
        assertEquals(0, r.code(), r.toString());
        assertEquals(GenerateCommandTest.GOLDEN, r.out().strip(), r.toString());
        assertTrue(r.err().contains("no split, no cloud session"), r.toString());
    }
}
