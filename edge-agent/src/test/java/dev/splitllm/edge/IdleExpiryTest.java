package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.cloud.ServerConfig;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Idle sessions expire and release their KV reservation; a late client replays its session back. */
class IdleExpiryTest {

    @Test
    void idleSessionExpires() throws Exception {
        ServerConfig c = ServerConfig.defaults(Set.of(Fixture.TOKEN)).withLimits(8, 64L << 20, Duration.ofSeconds(2));
        try (Fixture fx = new Fixture(c); EdgeModel edge = fx.edge(2)) {
            EdgeSession s = EdgeSession.open(edge, fx.options());
            String metricsBefore = fx.server.metricsText();
            assertTrue(metricsBefore.contains("splitllm_sessions_active 1"), metricsBefore);
            // Poll (bounded) instead of sleeping a fixed time: a loaded machine may sweep late.
            long deadline = System.nanoTime() + 20_000_000_000L;
            String metrics = fx.server.metricsText();
            while (!metrics.contains("splitllm_sessions_active 0") && System.nanoTime() < deadline) {
                Thread.sleep(100);
                metrics = fx.server.metricsText();
            }
            assertTrue(metrics.contains("splitllm_sessions_active 0"), metrics);
            assertTrue(metrics.contains("splitllm_sessions_expired_total 1"), metrics);
            assertTrue(metrics.contains("splitllm_kv_reserved_bytes 0"), metrics);
            // #15: a late client replays its log (here just the prefill) and the session comes back,
            // at the cost of a new reservation: expiry frees the server, the edge loses nothing.
            GenerationResult r = s.generate("Once upon a time", 5, TokenListener.NONE);
            assertEquals(5, r.tokens().length);
            assertEquals(1, s.failovers().size(), "the expired session was replayed once");
            assertEquals(0, s.failovers().get(0).step());
            s.close();
        }
    }
}
