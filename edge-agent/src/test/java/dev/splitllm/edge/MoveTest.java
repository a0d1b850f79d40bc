package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.kv.KvSpec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Moving the cut mid-session over a real loopback server on the real model (issue 14): with the
 * lossless codec and fp32 KV, the tokens after any scripted sequence of moves are exactly the
 * unsplit model's, greedy and seeded sampling, whether the KV of blocks coming down is sent by the
 * cloud or recomputed on the edge; bad moves are refused and the session goes on at its old cut.
 */
class MoveTest {
    static Fixture fx;
    static final String PROMPT = "Lily and Ben went to the park. They saw a big dog.";
    static final int N = 24;

    @BeforeAll
    static void start() {
        fx = new Fixture();
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    /** An edge model over the fixture's weights: blocks [0, 6) loaded, sessions start at {@code split}. */
    static EdgeModel edge(int split) {
        return new EdgeModel(fx.full, fx.tokenizer, KernelProvider.best(), 1, split);
    }

    static GenerationResult run(int split, EdgeOptions o, MoveOptions moves, List<MoveEvent> events) {
        try (EdgeModel edge = edge(split); EdgeSession s = EdgeSession.open(edge, o, Speculation.none(), moves)) {
            s.onMove(events::add);
            GenerationResult r = s.generate(PROMPT, N, true, (id, text, stats) -> { });
            return r;
        }
    }

    @Test
    void everyPairOfSplitsMovedThereAndBackGivesTheUnsplitModelsTokens() {
        int[] expected = fx.monolithic(PROMPT, N, Sampler.greedy());
        for (int a = 0; a <= 5; a++) {
            for (int b = 0; b <= 5; b++) {
                if (a == b) continue;
                // Blocks coming down: sent by the cloud for odd pairs, recomputed on the edge for even ones.
                MoveOptions.Down down = (a + b) % 2 == 1 ? MoveOptions.Down.TRANSFER : MoveOptions.Down.RECOMPUTE;
                MoveOptions moves = MoveOptions.scripted(a + ":" + b + "@3," + b + ":" + a + "@9", a).withDown(down);
                List<MoveEvent> events = new ArrayList<>();
                GenerationResult r = run(a, fx.options(), moves, events);
                assertArrayEquals(expected, r.tokens(), "moves " + a + "→" + b + "→" + a + " with " + down);
                assertEquals(2, events.size(), events.toString());
                for (MoveEvent e : events) {
                    assertNull(e.error(), e.toString());
                    String how = e.to() < e.from() ? "up" : down == MoveOptions.Down.TRANSFER ? "down" : "recompute";
                    assertEquals(how, e.how(), e.toString());
                    long kvBytes = "up".equals(how) ? e.bytesUp() : e.bytesDown();
                    if (!"recompute".equals(how)) {
                        // fp32: 2 (K and V) x blocks x positions x kvDim x 4 bytes, plus the frame's 52 bytes
                        assertEquals(52 + 8L * Math.abs(a - b) * e.positions() * 288, kvBytes, e.toString());
                    }
                }
            }
        }
    }

    @Test
    void seededSamplingAcrossSeveralMovesGivesTheUnsplitModelsTokens() {
        int[] expected = fx.monolithic(PROMPT, N, new Sampler(0.9f, 0.9f, 1234));
        EdgeOptions o = fx.options().withSampling(0.9f, 0.9f, 1234);
        List<MoveEvent> events = new ArrayList<>();
        GenerationResult r = run(3, o, MoveOptions.scripted("3:1@2,1:5@5,5:0@9,0:4@14", 3), events);
        assertArrayEquals(expected, r.tokens());
        assertEquals(4, events.size());
        events.forEach(e -> assertNull(e.error(), e.toString()));
        assertTrue(events.get(0).toString().startsWith("move: l=3→1 at step 2, "), events.get(0).toString());
    }

    @Test
    void lossyKvMovesKeepGeneratingAtTheNewCut() {
        List<MoveEvent> events = new ArrayList<>();
        GenerationResult r = run(3, fx.options(), MoveOptions.scripted("3:1@4,1:4@10", 3)
                .withKv(KvSpec.parse("kivi:bits=4")).withDown(MoveOptions.Down.TRANSFER), events);
        assertEquals(N, r.tokens().length);
        assertEquals(2, events.size());
        events.forEach(e -> assertNull(e.error(), e.toString()));
        // 4-bit codes cost about an eighth of fp32
        long fp32 = 52 + 8L * 2 * events.get(0).positions() * 288;
        assertTrue(events.get(0).bytesUp() < fp32 / 5, events.get(0) + " vs fp32 " + fp32);
    }

    @Test
    void aMoveOutsideTheModelIsRefusedAndTheSessionGoesOnAtItsCut() {
        int[] expected = fx.monolithic(PROMPT, N, Sampler.greedy());
        List<MoveEvent> events = new ArrayList<>();
        try (EdgeModel edge = edge(2); EdgeSession s = EdgeSession.open(edge, fx.options(), Speculation.none(), MoveOptions.none())) {
            s.onMove(events::add);
            int[] asked = {0};
            GenerationResult r = s.generate(PROMPT, N, true, (id, text, stats) -> {
                if (asked[0]++ == 3) s.requestMove(6); // 6 leaves no block on the cloud
            });
            assertArrayEquals(expected, r.tokens());
            assertEquals(2, s.split());
        }
        assertEquals(1, events.size());
        assertNotNull(events.get(0).error());
        assertTrue(events.get(0).error().contains("outside the model"), events.get(0).error());
        assertTrue(events.get(0).toString().contains("refused, staying at l=2"), events.get(0).toString());
    }

    @Test
    void scriptsAreCheckedBeforeAnythingRuns() {
        assertThrows(IllegalArgumentException.class, () -> MoveOptions.scripted("3:1@20,3:5@60", 3)); // starts where the last ended
        assertThrows(IllegalArgumentException.class, () -> MoveOptions.scripted("3:1@20,1:5@10", 3)); // steps increase
        assertThrows(IllegalArgumentException.class, () -> MoveOptions.scripted("3:1@0", 3)); // after the prefill
        assertThrows(IllegalArgumentException.class, () -> MoveOptions.scripted("3-1@5", 3));
        assertThrows(IllegalArgumentException.class, () -> MoveOptions.scripted("3:3@5", 3));
        assertEquals(5, MoveOptions.scripted("3:1@20,1:5@60", 3).deepestSplit(3));
        try (EdgeModel narrow = fx.edge(3)) {
            assertThrows(IllegalArgumentException.class,
                    () -> EdgeSession.open(narrow, fx.options(), Speculation.none(), MoveOptions.scripted("3:5@4", 3)));
        }
    }
}
