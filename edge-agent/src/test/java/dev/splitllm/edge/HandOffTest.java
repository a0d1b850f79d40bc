package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.kv.KvSpec;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hand-off, mirror and restore over a real loopback server on the real model (issue 14): with the
 * lossless codec and fp32 KV, a generation handed to the cloud mid-way, and one taken back by a
 * new edge process (a real child JVM), give exactly the undisturbed run's tokens, greedy and seeded.
 */
class HandOffTest {
    static Fixture fx;
    static final String PROMPT = "Lily and Ben went to the park. They saw a big dog.";
    static final int N = 24;
    static final int PROMPT_TOKENS = 16; // positions of PROMPT with BOS, checked below

    @BeforeAll
    static void start() {
        fx = new Fixture();
        assertEquals(PROMPT_TOKENS, fx.tokenizer.encode(PROMPT, true).length);
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    static EdgeModel edge(int split) {
        return new EdgeModel(fx.full, fx.tokenizer, KernelProvider.best(), 1, split);
    }

    /** Generates up to {@code n} tokens, handing off once {@code handOffAfter} tokens are in. */
    static GenerationResult handedOff(int split, EdgeOptions o, MoveOptions moves, int n, int handOffAfter, HandOffEvent[] event) {
        try (EdgeModel model = edge(split); EdgeSession s = EdgeSession.open(model, o, Speculation.none(), moves)) {
            int[] count = {0};
            GenerationResult r = s.generate(PROMPT, n, true, (id, text, stats) -> {
                if (++count[0] == handOffAfter) s.handOff();
            });
            event[0] = s.handOffEvent();
            return r;
        }
    }

    @Test
    void aHandedOffGenerationGivesTheUndisturbedTokens() {
        int[] greedy = fx.monolithic(PROMPT, N, Sampler.greedy());
        for (int split : new int[] {0, 1, 3, 5}) {
            HandOffEvent[] e = new HandOffEvent[1];
            GenerationResult r = handedOff(split, fx.options(), MoveOptions.none(), N, 6, e);
            assertArrayEquals(greedy, r.tokens(), "hand-off from split " + split);
            assertEquals("max_tokens", r.stopReason());
            assertNotNull(e[0], "no hand-off at split " + split);
            assertEquals(6, e[0].step(), e[0].toString()); // steps 0..5 answered the first 6 tokens
            assertEquals(PROMPT_TOKENS + 5, e[0].positions());
            // fp32: 2 (K and V) x blocks x positions x kvDim x 4 bytes, plus the frame's 52 bytes
            assertEquals(split == 0 ? 0 : 52 + 8L * split * e[0].positions() * 288, e[0].bytesUp(), e[0].toString());
        }
        int[] seeded = fx.monolithic(PROMPT, N, new Sampler(0.9f, 0.9f, 77));
        HandOffEvent[] e = new HandOffEvent[1];
        GenerationResult r = handedOff(3, fx.options().withSampling(0.9f, 0.9f, 77), MoveOptions.none(), N, 9, e);
        assertArrayEquals(seeded, r.tokens(), "seeded sampling handed off at split 3");
    }

    @Test
    void aMirrorLeavesOnlyTheNewestPositionsToShipAtTheHandOff() {
        int[] greedy = fx.monolithic(PROMPT, N, Sampler.greedy());
        MoveOptions moves = MoveOptions.none().withMirror(MirrorOptions.parse("fp32@4"));
        HandOffEvent[] e = new HandOffEvent[1];
        GenerationResult r = handedOff(4, fx.options(), moves, N, 14, e);
        assertArrayEquals(greedy, r.tokens());
        int p = e[0].positions(), m = e[0].mirrored();
        assertTrue(m > PROMPT_TOKENS && p - m < 4, e[0].toString()); // at most 3 positions not yet mirrored
        assertEquals(m == p ? 0 : 52 + 8L * 4 * (p - m) * 288, e[0].bytesUp(), e[0].toString());

        // A move toward the cloud with a mirror sends only the positions the mirror does not hold either.
        List<MoveEvent> events = new ArrayList<>();
        try (EdgeModel model = edge(5);
             EdgeSession s = EdgeSession.open(model, fx.options(), Speculation.none(),
                     MoveOptions.scripted("5:2@12", 5).withMirror(MirrorOptions.parse("fp32@8")))) {
            s.onMove(events::add);
            GenerationResult moved = s.generate(PROMPT, N, true, (id, text, stats) -> { });
            assertArrayEquals(greedy, moved.tokens());
            assertTrue(s.mirrorBytes() > 0);
        }
        assertEquals(1, events.size());
        MoveEvent mv = events.get(0);
        assertNull(mv.error(), mv.toString());
        long all = 52 + 8L * 3 * mv.positions() * 288;
        assertTrue(mv.bytesUp() < all / 2, "the move sent " + mv.bytesUp() + " of " + all + " bytes: " + mv);
    }

    @Test
    void aNewProcessRestoresAHandedOffSessionAndGoesOnWithTheSameTokens() throws Exception {
        int[] greedy = fx.monolithic(PROMPT, N, Sampler.greedy());
        String id;
        try (EdgeModel model = edge(3); EdgeSession s = EdgeSession.open(model, fx.options())) {
            id = s.sessionId();
            int[] count = {0};
            // 12 tokens: 6 through the split, then the cloud alone makes the other 6 and stops.
            GenerationResult r = s.generate(PROMPT, 12, true, (t, text, stats) -> {
                if (++count[0] == 6) s.handOff();
            });
            assertArrayEquals(java.util.Arrays.copyOf(greedy, 12), r.tokens());
            s.detach(); // the app's process goes away: the session stays on the cloud
        }
        // A real new process: its own JVM loads the model and takes the session back (KV sent down).
        List<String> out = child(id, 3, "transfer", N, "-");
        assertEquals("tokens: " + join(greedy), out.get(0), out.toString());
        assertEquals("stop: max_tokens", out.get(1), out.toString());
        assertTrue(out.get(2).startsWith("move: l=0→3 at step 12,") && out.get(2).contains("KB down"), out.toString());
    }

    @Test
    void aKilledSplitSessionIsRestoredByRecomputingFromItsTokens() {
        for (boolean seeded : new boolean[] {false, true}) {
            Sampler sampler = seeded ? new Sampler(0.9f, 0.9f, 4321) : Sampler.greedy();
            int[] expected = fx.monolithic(PROMPT, N, sampler);
            EdgeOptions o = seeded ? fx.options().withSampling(0.9f, 0.9f, 4321) : fx.options();
            String id;
            try (EdgeModel model = edge(2); EdgeSession s = EdgeSession.open(model, o)) {
                id = s.sessionId();
                int[] count = {0};
                GenerationResult r = s.generate(PROMPT, N, true, (t, text, stats) -> {
                    if (++count[0] == 8) s.detach(); // killed after 8 tokens, no hand-off
                });
                assertEquals(EdgeSession.DETACHED, r.stopReason());
                assertEquals(8, r.tokens().length);
            }
            // A fresh edge at another cut: rebuilt at the session's cut 2 from the tokens, then moved to 4.
            try (EdgeModel model = edge(4);
                 EdgeSession s = EdgeSession.restore(model, o, id, PROMPT, MoveOptions.none().withDown(MoveOptions.Down.RECOMPUTE))) {
                assertEquals(4, s.split());
                GenerationResult r = s.resume(N, true, (t, text, stats) -> { });
                assertArrayEquals(expected, r.tokens(), "restored " + (seeded ? "seeded" : "greedy"));
                assertEquals("recompute", s.moves().get(0).how());
            }
        }
    }

    @Test
    void aRestoreWithTheWrongPromptIsRefusedAndTheSessionStaysRestorable() {
        int[] greedy = fx.monolithic(PROMPT, N, Sampler.greedy());
        String id;
        try (EdgeModel model = edge(3); EdgeSession s = EdgeSession.open(model, fx.options())) {
            id = s.sessionId();
            int[] count = {0};
            s.generate(PROMPT, N, true, (t, text, stats) -> {
                if (++count[0] == 5) s.detach();
            });
        }
        try (EdgeModel model = edge(3)) {
            EdgeException e = assertThrows(EdgeException.class,
                    () -> EdgeSession.restore(model, fx.options(), id, "Once upon a time", MoveOptions.none()));
            assertEquals("bad_restore", e.code());
            assertTrue(e.getMessage().contains("is it the session's prompt?"), e.getMessage());
            IllegalArgumentException noPrompt = assertThrows(IllegalArgumentException.class,
                    () -> EdgeSession.restore(model, fx.options(), id, null, MoveOptions.none()));
            assertTrue(noPrompt.getMessage().contains("pass the original prompt"), noPrompt.getMessage());
            EdgeException unknown = assertThrows(EdgeException.class,
                    () -> EdgeSession.restore(model, fx.options(), "0123456789abcdef0123456789abcdef", PROMPT, MoveOptions.none()));
            assertEquals("not_found", unknown.code());
            try (EdgeSession s = EdgeSession.restore(model, fx.options(), id, PROMPT, MoveOptions.none())) {
                assertArrayEquals(greedy, s.resume(N, true, (t, text, stats) -> { }).tokens());
            }
        }
    }

    @Test
    void theOldEdgeIsStoppedWhenAnotherProcessRestoresItsSession() throws Exception {
        try (EdgeModel model = edge(3); EdgeSession old = EdgeSession.open(model, fx.options())) {
            String id = old.sessionId();
            int[] count = {0};
            EdgeException[] seen = new EdgeException[1];
            GenerationResult[] r = new GenerationResult[1];
            EdgeException e = assertThrows(EdgeException.class, () -> old.generate(PROMPT, N, true, (t, text, stats) -> {
                if (++count[0] == 4) {
                    // Meanwhile another process takes the session: the old edge's next step must fail, not fork it.
                    try (EdgeModel other = edge(3); EdgeSession s = EdgeSession.restore(other, fx.options(), id, PROMPT,
                            MoveOptions.none())) {
                        s.detach();
                    }
                }
            }));
            assertTrue(e.code().equals("restored_elsewhere") || e.code().equals("stale_epoch"), e.code() + ": " + e.getMessage());
        }
    }

    @Test
    void movesThenAHandOffThenARestoreInANewProcessGiveTheUndisturbedSeededTokens() throws Exception {
        int[] expected = fx.monolithic(PROMPT, N, new Sampler(0.9f, 0.9f, 99));
        EdgeOptions o = fx.options().withSampling(0.9f, 0.9f, 99);
        String id;
        List<MoveEvent> events = new ArrayList<>();
        try (EdgeModel model = edge(5);
             EdgeSession s = EdgeSession.open(model, o, Speculation.none(),
                     MoveOptions.scripted("3:1@3,1:5@6", 3).withDown(MoveOptions.Down.TRANSFER).withMirror(MirrorOptions.parse("fp32@4")))) {
            id = s.sessionId();
            s.onMove(events::add);
            int[] count = {0};
            // Moves at steps 3 and 6, the hand-off after 10 tokens; the cloud makes tokens 10..15 and stops.
            GenerationResult r = s.generate(PROMPT, 16, true, (t, text, stats) -> {
                if (++count[0] == 10) s.handOff();
            });
            assertArrayEquals(java.util.Arrays.copyOf(expected, 16), r.tokens());
            assertEquals(5, s.handOffEvent().from());
            s.detach();
        }
        assertEquals(2, events.size(), events.toString());
        // A new process at cut 2 rebuilds its blocks from the tokens (the session is at cut 0 on the cloud).
        List<String> out = child(id, 2, "recompute", N, "-");
        assertEquals("tokens: " + join(expected), out.get(0), out.toString());
        assertTrue(out.get(2).startsWith("move: l=0→2 at step 16,") && out.get(2).contains("recomputed"), out.toString());
    }

    @Test
    void aRestoreLoadsTheCloudsMirrorAndRecomputesOnlyTheRest() {
        int[] expected = fx.monolithic(PROMPT, N, Sampler.greedy());
        MoveOptions mirror = MoveOptions.none().withMirror(MirrorOptions.parse("fp32@4"));
        String id;
        try (EdgeModel model = edge(3); EdgeSession s = EdgeSession.open(model, fx.options(), Speculation.none(), mirror)) {
            id = s.sessionId();
            int[] count = {0};
            s.generate(PROMPT, N, true, (t, text, stats) -> {
                if (++count[0] == 10) s.detach();
            });
            assertTrue(s.mirroredPositions() >= PROMPT_TOKENS, "mirrored " + s.mirroredPositions());
        }
        try (EdgeModel model = edge(3); EdgeSession s = EdgeSession.restore(model, fx.options(), id, PROMPT, mirror)) {
            assertEquals("mirror", s.restoredFrom());
            assertTrue(s.mirroredPositions() >= PROMPT_TOKENS);
            assertArrayEquals(expected, s.resume(N, true, (t, text, stats) -> { }).tokens());
            assertTrue(s.mirrorBytes() > 0, "the restored edge's mirror goes on from the cloud's");
        }
    }

    @Test
    void aRestoreStopsACloudGenerationBetweenTwoTokensAndGoesOnFromThere() {
        int n = 110;
        int[] expected = fx.monolithic(PROMPT, n, Sampler.greedy());
        String id;
        try (EdgeModel model = edge(3); EdgeSession s = EdgeSession.open(model, fx.options())) {
            id = s.sessionId();
            int[] count = {0};
            GenerationResult r = s.generate(PROMPT, n, true, (t, text, stats) -> {
                ++count[0];
                if (count[0] == 6) s.handOff();
                if (count[0] == 12) s.detach(); // the app dies while the cloud generates alone
            });
            assertEquals(EdgeSession.DETACHED, r.stopReason());
        }
        // The restore gets in between two of the cloud's tokens (the session lock is fair), long before its 110th.
        try (EdgeModel model = edge(3); EdgeSession s = EdgeSession.restore(model, fx.options(), id, null, MoveOptions.none())) {
            GenerationResult r = s.resume(n, true, (t, text, stats) -> { });
            assertArrayEquals(expected, r.tokens());
            assertTrue(r.steps().size() > 0, "the cloud had finished before the restore: it was not stopped between two tokens");
        }
    }

    static String join(int[] tokens) {
        StringBuilder sb = new StringBuilder();
        for (int t : tokens) sb.append(sb.length() == 0 ? "" : ",").append(t);
        return sb.toString();
    }

    /** Runs {@link RestoreMain} in a new JVM with this test's class path; returns its output lines. */
    static List<String> child(String id, int split, String down, int n, String prompt) throws Exception {
        String javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(javaBin, "--add-modules", "jdk.incubator.vector", "-cp",
                System.getProperty("java.class.path"), RestoreMain.class.getName(), fx.uri().toString(), Fixture.TOKEN, id,
                String.valueOf(split), down, String.valueOf(n), prompt).redirectErrorStream(true);
        Process p = pb.start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("tokens:") || line.startsWith("stop:") || line.startsWith("move:")) lines.add(line);
                else System.out.println("[restore process] " + line);
            }
        } finally {
            if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly();
        }
        assertEquals(0, p.exitValue(), "the restore process failed: " + lines);
        return lines;
    }
}
