package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.sample.Sampler;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link EdgeSession#cancel}: from a listener callback or from another thread, a running generate
 * returns the tokens it has with stop reason "cancelled"; close deletes the cloud session.
 */
class EdgeCancelTest {
    static Fixture fx;
    static final OkHttpClient HTTP = new OkHttpClient();

    @BeforeAll
    static void start() {
        fx = new Fixture();
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    static int sessionStatus(String id) throws Exception {
        Request req = new Request.Builder().url(fx.server.baseUrl() + "/v1/sessions/" + id)
                .header("Authorization", "Bearer " + Fixture.TOKEN).build();
        try (Response r = HTTP.newCall(req).execute()) {
            return r.code();
        }
    }

    @Test
    void cancelFromTheListenerStopsAfterThatToken() throws Exception {
        int[] expected = fx.monolithic("Once upon a time", 40, Sampler.greedy());
        String id;
        try (EdgeModel edge = fx.edge(3); EdgeSession s = EdgeSession.open(edge, fx.options())) {
            id = s.sessionId();
            List<Integer> seen = new ArrayList<>();
            GenerationResult r = s.generate("Once upon a time", 40, (token, text, stats) -> {
                seen.add(token);
                if (seen.size() == 5) s.cancel();
            });
            assertEquals(EdgeSession.CANCELLED, r.stopReason());
            assertArrayEquals(Arrays.copyOf(expected, 5), r.tokens(), "the tokens before the cancel are the model's");
            assertEquals(5, seen.size(), "no token after the cancel reaches the listener");
            assertEquals(5, r.steps().size());
            assertThrows(IllegalStateException.class, () -> s.generate("again", 3, TokenListener.NONE));
            assertEquals(200, sessionStatus(id), "the cloud session lives until close");
        }
        assertEquals(404, sessionStatus(id), "close deletes the cloud session");
        assertTrue(fx.server.metricsText().contains("splitllm_sessions_active 0"));
    }

    @Test
    void cancelFromAnotherThreadEndsAWaitForAnAnswer() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (TcpProxy proxy = new TcpProxy(fx.server.port());
             EdgeModel edge = fx.edge(2);
             // A step timeout far beyond the test's bound: only the cancel can end the wait.
             EdgeSession s = EdgeSession.open(edge, Fixture.withTimeout(SplitRuntimeTest.withServer(fx.options(),
                     URI.create("http://127.0.0.1:" + proxy.port())), Duration.ofMinutes(10)))) {
            String id = s.sessionId();
            Future<GenerationResult> run = pool.submit(() -> s.generate("Once upon a time", 40, (token, text, stats) -> {
                if (stats.step() == 2) proxy.holdNextDownstream(); // the answer to step 3 never arrives
            }));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (proxy.held.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(proxy.held.get() > 0, "the cloud answered step 3 and the proxy swallowed it");
            assertFalse(run.isDone(), "the edge is waiting for the swallowed answer");
            s.cancel();
            GenerationResult r = run.get(60, TimeUnit.SECONDS);
            assertEquals(EdgeSession.CANCELLED, r.stopReason());
            assertArrayEquals(Arrays.copyOf(fx.monolithic("Once upon a time", 3, Sampler.greedy()), 3), r.tokens());
            s.close();
            assertEquals(404, sessionStatus(id), "close deletes the cloud session");
            s.cancel(); // harmless after close
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void cancelBeforeGenerateSendsNothing() throws Exception {
        try (EdgeModel edge = fx.edge(1); EdgeSession s = EdgeSession.open(edge, fx.options())) {
            s.cancel();
            s.cancel(); // idempotent
            GenerationResult r = s.generate("Once upon a time", 10, (token, text, stats) -> fail("no token expected"));
            assertEquals(EdgeSession.CANCELLED, r.stopReason());
            assertEquals(0, r.tokens().length);
            assertEquals(0, r.bytesUp());
            Request req = new Request.Builder().url(fx.server.baseUrl() + "/v1/sessions/" + s.sessionId())
                    .header("Authorization", "Bearer " + Fixture.TOKEN).build();
            try (Response resp = HTTP.newCall(req).execute()) {
                assertTrue(resp.body().string().contains("\"nextStep\":0"), "the cloud saw no frame");
            }
        }
    }
}
