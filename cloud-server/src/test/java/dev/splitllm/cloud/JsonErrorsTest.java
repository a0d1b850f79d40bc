package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Set;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every refusal is a JSON error with the right status, whoever refuses; bodies bind strictly; quotas. */
class JsonErrorsTest {
    static final String METRICS_TOKEN = "metrics-secret";
    static final String SESSION = "{\"splitLayer\":2,\"codec\":\"fp32\",\"cloudWeights\":\"f32\",\"maxSeqLen\":64,"
            + "\"temperature\":0,\"topP\":1,\"seed\":1}";
    static ServerFixture fx;

    @BeforeAll
    static void start() {
        fx = new ServerFixture(ServerConfig.defaults(Set.of(ServerFixture.TOKEN, ServerFixture.OTHER_TOKEN))
                .withLimits(4, 256L << 20, Duration.ofMinutes(5)).withMetricsToken(METRICS_TOKEN));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    record Raw(int status, String contentType, String body, String retryAfter) {
        JsonNode json() throws Exception {
            return ServerFixture.JSON.readTree(body);
        }
    }

    static Raw raw(Request.Builder b) throws Exception {
        try (Response r = ServerFixture.HTTP.newCall(b.build()).execute()) {
            return new Raw(r.code(), r.header("Content-Type"), r.body().string(), r.header("Retry-After"));
        }
    }

    static Request.Builder req(String path, String token) {
        Request.Builder b = new Request.Builder().url(fx.baseUrl() + path);
        if (token != null) b.header("Authorization", "Bearer " + token);
        return b;
    }

    static void assertJsonError(Raw r, int status, String code) throws Exception {
        assertEquals(status, r.status(), r.body());
        assertNotNull(r.contentType(), r.body());
        assertTrue(r.contentType().startsWith("application/json"), r.contentType() + ": " + r.body());
        JsonNode n = r.json();
        assertEquals("error", n.path("type").asText(), r.body());
        assertEquals(code, n.path("code").asText(), r.body());
        assertFalse(n.path("message").asText().isEmpty(), r.body());
    }

    @Test
    void everyPathMethodAndSizeFailureIsJson() throws Exception {
        String t = ServerFixture.TOKEN;
        assertJsonError(raw(req("/no/such/path", t)), 404, "not_found");
        assertJsonError(raw(req("/no/such/path", null)), 401, "unauthorized"); // the gate comes first
        assertJsonError(raw(req("/v1/sessions", t).put(RequestBody.create(SESSION, ServerFixture.JSON_TYPE))), 405, "method_not_allowed");
        assertJsonError(raw(req("/v1/health", null).delete()), 405, "method_not_allowed");
        assertJsonError(raw(req("/v1/sessions", t).post(RequestBody.create("{\"x\":\"" + "a".repeat(300 * 1024) + "\"}",
                ServerFixture.JSON_TYPE))), 413, "too_large");
        assertJsonError(raw(req("/v1/sessions/" + "a".repeat(20_000), t)), 414, "uri_too_long");
        assertJsonError(raw(req("/v1/health", t).header("X-Big", "b".repeat(20_000))), 431, "headers_too_large");
        // A plain GET on the stream path (no upgrade) is an HTTP request like any other.
        assertJsonError(raw(req("/v1/sessions/0123/stream", t)), 404, "not_found");
    }

    @Test
    void bodiesBindStrictly() throws Exception {
        String[] bad = {
            "null",
            "[]",
            "3",
            SESSION.replace("\"splitLayer\":2", "\"splitLayer\":2.7"),
            SESSION.replace("\"splitLayer\":2", "\"splitLayer\":\"2\""),
            SESSION.replace("\"splitLayer\":2", "\"splitLayer\":null"),
            SESSION.replace("\"splitLayer\":2", "\"splitLayer\":2,\"splitLayer\":1"),
            SESSION + SESSION,
            SESSION + " {}",
            SESSION.replace("\"seed\":1", "\"seed\":1,\"extra\":true"),
        };
        for (String body : bad) {
            Raw r = raw(req("/v1/sessions", ServerFixture.TOKEN).post(RequestBody.create(body, ServerFixture.JSON_TYPE)));
            assertJsonError(r, 400, "bad_request");
        }
        Raw nullCompletion = raw(req("/v1/completions", ServerFixture.TOKEN).post(RequestBody.create("null", ServerFixture.JSON_TYPE)));
        assertJsonError(nullCompletion, 400, "bad_request");
        assertEquals(0, fx.server.metricsText().lines().filter(l -> l.startsWith("splitllm_errors_total{code=\"internal\"}")).count(),
                "no bad body may reach a 500");
    }

    @Test
    void oneTokenCannotTakeEverySlotAnd503SaysWhenToRetry() throws Exception {
        // 4 sessions, 2 tokens: 2 per token by default.
        String a = ServerFixture.TOKEN, b = ServerFixture.OTHER_TOKEN;
        String[] mine = new String[2];
        for (int i = 0; i < 2; i++) {
            Raw r = raw(req("/v1/sessions", a).post(RequestBody.create(SESSION, ServerFixture.JSON_TYPE)));
            assertEquals(201, r.status(), r.body());
            mine[i] = r.json().path("sessionId").asText();
        }
        Raw refused = raw(req("/v1/sessions", a).post(RequestBody.create(SESSION, ServerFixture.JSON_TYPE)));
        assertJsonError(refused, 503, "limit");
        assertEquals("10", refused.retryAfter());
        assertEquals("tokenSessions", refused.json().path("limit").asText());
        assertEquals(2, refused.json().path("used").asInt());
        assertEquals(2, refused.json().path("max").asInt());
        Raw other = raw(req("/v1/sessions", b).post(RequestBody.create(SESSION, ServerFixture.JSON_TYPE)));
        assertEquals(201, other.status(), "another token still gets a session: " + other.body());
        for (String id : mine) raw(req("/v1/sessions/" + id, a).delete());
        raw(req("/v1/sessions/" + other.json().path("sessionId").asText(), b).delete());
    }

    @Test
    void aPerTokenKvQuotaRefusesWithTheNumbers() throws Exception {
        long oneSession = dev.splitllm.engine.model.MemoryAccount.kvCacheBytes(ServerFixture.config(),
                ServerFixture.config().nLayers() - 2, 64);
        try (ServerFixture small = new ServerFixture(ServerConfig.defaults(Set.of(ServerFixture.TOKEN)).withQuotas(8, oneSession))) {
            ServerFixture.Reply first = small.call("POST", "/v1/sessions", ServerFixture.TOKEN, SESSION);
            assertEquals(201, first.status());
            ServerFixture.Reply second = small.call("POST", "/v1/sessions", ServerFixture.TOKEN, SESSION);
            assertEquals(503, second.status());
            assertEquals("tokenKvBytes", second.body().path("limit").asText());
            assertEquals(oneSession, second.body().path("used").asLong());
            assertEquals(oneSession, second.body().path("requested").asLong());
        }
    }

    @Test
    void metricsNeedTheMetricsTokenWhenOneIsSet() throws Exception {
        assertJsonError(raw(req("/metrics", null)), 401, "unauthorized");
        assertJsonError(raw(req("/metrics", ServerFixture.TOKEN)), 401, "unauthorized");
        Raw ok = raw(req("/metrics", METRICS_TOKEN));
        assertEquals(200, ok.status());
        assertTrue(ok.body().contains("splitllm_sessions_active"));
        assertEquals(200, raw(req("/v1/health", null)).status(), "health stays public");
    }
}
