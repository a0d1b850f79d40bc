package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Idle sessions expire, release their KV reservation, and a late client gets a clear 404. */
class IdleExpiryTest {
    static final String SESSION = "{\"splitLayer\":2,\"codec\":\"fp32\",\"cloudWeights\":\"f32\",\"maxSeqLen\":128,"
            + "\"temperature\":0,\"topP\":1,\"seed\":1}";

    @Test
    void idleSessionExpires() throws Exception {
        ServerConfig c = ServerConfig.defaults(Set.of(ServerFixture.TOKEN)).withLimits(8, 64L << 20, Duration.ofSeconds(2));
        try (ServerFixture fx = new ServerFixture(c)) {
            ServerFixture.Reply created = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, SESSION);
            assertEquals(201, created.status(), String.valueOf(created.body()));
            String id = created.body().path("sessionId").asText();
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
            // A late client: REST and the stream upgrade both say the session is gone.
            ServerFixture.Reply status = fx.call("GET", "/v1/sessions/" + id, ServerFixture.TOKEN, null);
            assertEquals(404, status.status());
            assertEquals("not_found", status.body().path("code").asText());
            try (RawStream ws = new RawStream(ServerFixture.HTTP, fx.wsUrl(created.body().path("streamPath").asText()),
                    ServerFixture.TOKEN)) {
                assertTrue(ws.next().startsWith("failure:HTTP 404"));
            }
        }
    }
}
