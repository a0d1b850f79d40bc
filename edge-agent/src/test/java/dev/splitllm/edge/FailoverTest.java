package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.engine.forward.Backend;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.quantization.codec.CodecSpec;
import java.net.URI;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Failover by replay between two real replicas (in-process servers on loopback) behind a TCP
 * proxy that plays the load balancer: the replica holding a session is cut off (as a dead one is)
 * or drained, the edge replays its log to the other one, and the token stream is the same as a
 * run without the fault. The replica taking over counts its forward calls: the replay is one
 * batched forward over every position, not one per step.
 */
class FailoverTest {
    static Fixture a;
    static Fixture b;
    static final AtomicInteger forwards = new AtomicInteger();
    static final AtomicInteger forwardedPositions = new AtomicInteger();
    static ThreadTeam teamB;

    @BeforeAll
    static void start() {
        ServerConfig config = ServerConfig.defaults(Set.of(Fixture.TOKEN, Fixture.OTHER_TOKEN));
        a = new Fixture(config);
        teamB = new ThreadTeam(1);
        b = new Fixture(config, w -> counting(new JavaBackend(w, KernelProvider.best(), teamB)));
    }

    @AfterAll
    static void stop() {
        if (a != null) a.close();
        if (b != null) b.close();
        if (teamB != null) teamB.close();
    }

    private static final String PROMPT = "Once upon a time";
    private static final int TOKENS = 40;

    /** The stream with no fault, on replica A directly. */
    private static int[] reference(EdgeOptions o) {
        try (EdgeModel edge = a.edge(3); EdgeSession s = EdgeSession.open(edge, o)) {
            return s.generate(PROMPT, TOKENS, (id, text, st) -> { }).tokens();
        }
    }

    /** Runs through a proxy at A; at token 12, {@code fault} moves or kills the session's replica. */
    private static EdgeSessionRun viaProxy(EdgeOptions o, Consumer<TcpProxy> fault) throws Exception {
        try (TcpProxy proxy = new TcpProxy(a.server.port()); EdgeModel edge = a.edge(3);
             EdgeSession s = EdgeSession.open(edge, withServer(o, URI.create("http://127.0.0.1:" + proxy.port())))) {
            AtomicInteger n = new AtomicInteger();
            GenerationResult r = s.generate(PROMPT, TOKENS, (id, text, st) -> {
                if (n.incrementAndGet() == 12) fault.accept(proxy);
            });
            return new EdgeSessionRun(r.tokens(), s.failovers(), s.replayLogBytes());
        }
    }

    record EdgeSessionRun(int[] tokens, List<Failover> failovers, long logBytes) {
    }

    private static EdgeOptions withServer(EdgeOptions o, URI server) {
        return new EdgeOptions(server, o.token(), o.codec(), o.cloudWeights(), o.maxSeqLen(), o.temperature(), o.topP(),
                o.seed(), o.stepTimeout(), o.maxReconnects(), o.totalTimeout(), o.trust());
    }

    private static void lose(TcpProxy proxy) {
        proxy.retarget(b.server.port());
        proxy.cutAll(); // the replica is gone: no close handshake, the answer in flight (if any) is lost
    }

    @Test
    void lostReplicaGreedyFp32ReplaysToTheSameTokens() throws Exception {
        EdgeOptions o = a.options();
        int[] expected = reference(o);
        forwards.set(0);
        forwardedPositions.set(0);
        EdgeSessionRun run = viaProxy(o, FailoverTest::lose);
        assertArrayEquals(expected, run.tokens());
        assertEquals(1, run.failovers().size(), "one failover");
        Failover f = run.failovers().get(0);
        assertEquals(1, f.epoch());
        assertTrue(f.positions() >= 5 + 11, "replayed positions " + f.positions());
        // The replay was one batched forward over all its positions (then one per later step).
        assertTrue(forwards.get() >= 1 && forwardedPositions.get() >= f.positions(), forwards + " forwards");
        // The edge sends compact frames but replays them as full ones (the replica a failover
        // reaches may not take compact frames): at least a 68-byte header per fp32 frame.
        assertTrue(f.bytes() >= (long) f.positions() * 4 * 288 + 68L * f.frames(), "replay of " + f.bytes() + " bytes for "
                + f.frames() + " frames and " + f.positions() + " positions");
        System.out.printf("failover (lost, greedy fp32): step %d, %d frames, %d positions, %d bytes, replay %.1f ms (cloud %.1f ms), recovery %.1f ms; log %d bytes%n",
                f.step(), f.frames(), f.positions(), f.bytes(), f.replayMs(), f.cloudMs(), f.recoveryMs(), run.logBytes());
    }

    /**
     * A replica lost after the cut moved twice (3 → 1 with KV up, then 1 → 5 with KV down): the
     * replay names the current cut with the ticket the last move issued, and the steps sent at
     * earlier cuts are re-encoded at the current one from the tokens; lossless, the stream is the
     * same; lossy, the same up to the failover, and it goes on.
     */
    @Test
    void lostReplicaAfterMovesOfTheCutReplaysToTheSameTokens() throws Exception {
        for (String codec : new String[] {"fp32", "tabq:eps=0.001,bits=2/3/4/6/8"}) {
            EdgeOptions o = a.options().withCodec(dev.splitllm.quantization.codec.CodecSpec.parse(codec))
                    .withSampling(0.9f, 0.9f, 2024);
            int[] expected;
            MoveOptions moves = MoveOptions.scripted("3:1@4,1:5@8", 3).withDown(MoveOptions.Down.TRANSFER);
            try (EdgeModel edge = new EdgeModel(a.full, a.tokenizer, KernelProvider.best(), 1, 3);
                 EdgeSession s = EdgeSession.open(edge, o, Speculation.none(), moves)) {
                expected = s.generate(PROMPT, TOKENS, (id, text, st) -> { }).tokens();
            }
            try (TcpProxy proxy = new TcpProxy(a.server.port());
                 EdgeModel edge = new EdgeModel(a.full, a.tokenizer, KernelProvider.best(), 1, 3);
                 EdgeSession s = EdgeSession.open(edge, withServer(o, URI.create("http://127.0.0.1:" + proxy.port())),
                         Speculation.none(), moves)) {
                AtomicInteger n = new AtomicInteger();
                GenerationResult r = s.generate(PROMPT, TOKENS, (id, text, st) -> {
                    if (n.incrementAndGet() == 12) lose(proxy);
                });
                if (codec.equals("fp32")) {
                    assertArrayEquals(expected, r.tokens(), "failover after two moves, lossless");
                } else {
                    // Lossy: the new replica's KV comes from the re-encoded rows at the current cut, which is
                    // not bit for bit what the old replica computed from the rows of the earlier cuts; the
                    // stream is the same up to the failover and goes on (docs/PROTOCOL.md, "Failover after a move").
                    assertArrayEquals(java.util.Arrays.copyOf(expected, 12), java.util.Arrays.copyOf(r.tokens(), 12));
                    assertEquals(TOKENS, r.tokens().length);
                }
                assertEquals(2, s.moves().stream().filter(e -> e.error() == null).count(), s.moves().toString());
                assertEquals(1, s.failovers().size(), "one failover");
                assertEquals(5, s.split());
            }
        }
    }

    /**
     * The replay at ~256 positions is ONE forward call on the new replica covering every position
     * (counted, not timed); the figures (replay vs. the same positions stepped one by one) are printed.
     */
    @Test
    void replayAt256PositionsIsOneBatchedForward() throws Exception {
        EdgeOptions o = a.options().withMaxSeqLen(256);
        int lostAt = 250; // prompt (5) + 250 tokens: the replay rebuilds 255 positions
        int[] seenForwards = {-1};
        int[] seenPositions = {-1};
        double[] steppedMs = {0};
        try (TcpProxy proxy = new TcpProxy(a.server.port()); EdgeModel edge = a.edge(3);
             EdgeSession s = EdgeSession.open(edge, withServer(o, URI.create("http://127.0.0.1:" + proxy.port())))) {
            AtomicInteger n = new AtomicInteger();
            // Past the end of the first story: the replay must cover ~256 positions.
            GenerationResult r = s.generate("Once", 255, true, (id, text, st) -> {
                int k = n.incrementAndGet();
                if (k <= lostAt) steppedMs[0] += st.cloudMs();
                if (k == lostAt) {
                    forwards.set(0);
                    forwardedPositions.set(0);
                    lose(proxy);
                } else if (k == lostAt + 1) {
                    seenForwards[0] = forwards.get();
                    seenPositions[0] = forwardedPositions.get();
                }
            });
            assertEquals(1, s.failovers().size());
            Failover f = s.failovers().get(0);
            assertTrue(f.positions() >= 250, "positions " + f.positions());
            assertEquals(1, seenForwards[0], "the replay must be one batched forward");
            assertEquals(f.positions(), seenPositions[0], "covering every replayed position");
            System.out.printf("replay at %d positions: one forward, %d bytes, replay %.1f ms at the edge (cloud %.1f ms);"
                    + " the same positions stepped one by one took %.1f ms of cloud time over %d steps%n",
                    f.positions(), f.bytes(), f.replayMs(), f.cloudMs(), steppedMs[0], lostAt);
            assertTrue(r.tokens().length > lostAt);
        }
    }

    /**
     * #13: a session that speculates loses its replica mid-stream; the log holds DRAFT frames cut to
     * their accepted rows, the replay rebuilds exactly the kept positions (and verifies a draft in
     * flight as the lost replica would have), and the stream is the one without a fault: greedy
     * and seeded sampling.
     */
    @Test
    void lostReplicaWhileSpeculatingReplaysToTheSameTokens() throws Exception {
        try (dev.splitllm.engine.draft.ModelDrafter drafter = dev.splitllm.engine.draft.ModelDrafter.open(Fixture.checkpoint(),
                dev.splitllm.quantization.weights.WeightFormat.Q4_0, 128, 1)) {
            for (EdgeOptions o : new EdgeOptions[] {a.options().withCodec(CodecSpec.parse("tabq:eps=0.001,bits=2/3/4/6/8")),
                a.options().withSampling(0.9f, 0.9f, 99)}) {
                Speculation spec = Speculation.with(drafter, 3);
                int[] expected;
                try (EdgeModel edge = a.edge(3); EdgeSession s = EdgeSession.open(edge, o, spec)) {
                    GenerationResult r = s.generate(PROMPT, TOKENS, (id, text, st) -> { });
                    assertTrue(r.accepted() > 0, "the reference speculates");
                    expected = r.tokens();
                }
                try (TcpProxy proxy = new TcpProxy(a.server.port()); EdgeModel edge = a.edge(3);
                     EdgeSession s = EdgeSession.open(edge, withServer(o, URI.create("http://127.0.0.1:" + proxy.port())), spec)) {
                    AtomicInteger n = new AtomicInteger();
                    GenerationResult r = s.generate(PROMPT, TOKENS, (id, text, st) -> {
                        if (n.incrementAndGet() == 12) lose(proxy);
                    });
                    assertArrayEquals(expected, r.tokens(), "temperature " + o.temperature());
                    assertEquals(1, s.failovers().size());
                    assertTrue(r.drafted() > 0);
                }
            }
        }
    }

    @Test
    void lostReplicaSeededTabqReplaysToTheSameTokens() throws Exception {
        EdgeOptions o = a.options().withSampling(0.9f, 0.9f, 1234).withCodec(CodecSpec.parse("tabq:eps=0.001,bits=2/3/4/6/8"));
        int[] expected = reference(o);
        EdgeSessionRun run = viaProxy(o, FailoverTest::lose);
        assertArrayEquals(expected, run.tokens());
        assertEquals(1, run.failovers().size());
    }

    @Test
    void drainedReplicaMovesTheSessionAndTheStreamIsTheSame() throws Exception {
        EdgeOptions o = a.options().withSampling(0.8f, 0.95f, 99);
        int[] expected = reference(o);
        try (Fixture c = new Fixture(ServerConfig.defaults(Set.of(Fixture.TOKEN, Fixture.OTHER_TOKEN)))) {
            int[] drainedCount = {0};
            try (TcpProxy proxy = new TcpProxy(c.server.port()); EdgeModel edge = a.edge(3);
                 EdgeSession s = EdgeSession.open(edge, withServer(o, URI.create("http://127.0.0.1:" + proxy.port())))) {
                AtomicInteger n = new AtomicInteger();
                GenerationResult r = s.generate(PROMPT, TOKENS, (id, text, st) -> {
                    if (n.incrementAndGet() == 12) {
                        proxy.retarget(b.server.port()); // the balancer stops routing to the draining replica
                        Thread t = new Thread(() -> drainedCount[0] = c.server.drain(java.time.Duration.ofSeconds(5)));
                        t.start();
                        try {
                            t.join();
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                });
                assertArrayEquals(expected, r.tokens());
                assertEquals(1, drainedCount[0], "the drain moved the session");
                assertEquals(1, s.failovers().size());
            }
        }
    }

    /** Nothing listening at creation (nginx or the replica down): a clear error after the retries, naming the endpoint. */
    @Test
    void creationAgainstADeadEndpointFailsClearlyAfterRetries() throws Exception {
        int dead;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            dead = probe.getLocalPort(); // closed again: nothing listens there
        }
        EdgeOptions o = withServer(a.options(), URI.create("http://127.0.0.1:" + dead));
        o = new EdgeOptions(o.server(), o.token(), o.codec(), o.cloudWeights(), o.maxSeqLen(), o.temperature(), o.topP(),
                o.seed(), o.stepTimeout(), 2, o.totalTimeout(), null);
        EdgeOptions opts = o;
        try (EdgeModel edge = a.edge(3)) {
            EdgeException e = org.junit.jupiter.api.Assertions.assertThrows(EdgeException.class, () -> EdgeSession.open(edge, opts));
            assertEquals("link", e.code());
            assertTrue(e.getMessage().startsWith("could not create a session at http://127.0.0.1:" + dead + "/v1/sessions/"), e.getMessage());
            assertTrue(e.getMessage().contains("after 3 attempts"), e.getMessage());
        }
    }

    // ---- a backend that counts forward calls (the replica taking over) ----

    static Backend counting(Backend inner) {
        return new Backend() {
            public LlamaConfig config() {
                return inner.config();
            }

            public ModelSlice slice() {
                return inner.slice();
            }

            public Segment open(int firstLayer, int endLayer, int capacity) {
                Segment s = inner.open(firstLayer, endLayer, capacity);
                return new Segment() {
                    public LlamaConfig config() { return s.config(); }
                    public int firstLayer() { return s.firstLayer(); }
                    public int endLayer() { return s.endLayer(); }
                    public boolean hasEmbedding() { return s.hasEmbedding(); }
                    public boolean hasHead() { return s.hasHead(); }
                    public int position() { return s.position(); }
                    public int capacity() { return s.capacity(); }
                    public float[] embed(int[] tokens) { return s.embed(tokens); }
                    public void forward(float[] hidden, int tokens) {
                        forwards.incrementAndGet();
                        forwardedPositions.addAndGet(tokens);
                        s.forward(hidden, tokens);
                    }
                    public float[] lastLogits(float[] hidden, int tokens) { return s.lastLogits(hidden, tokens); }
                    public void truncate(int position) { s.truncate(position); }
                    public long kvBytes() { return s.kvBytes(); }
                    public String backendName() { return s.backendName(); }
                    public void close() { s.close(); }
                };
            }

            public String name() {
                return inner.name();
            }
        };
    }
}
