package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.FrameCodec;
import dev.splitllm.quantization.wire.FrameHeader;
import dev.splitllm.quantization.wire.Phase;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bad input never crashes the server, never corrupts a session, and always gets a JSON reason.
 * A raw client only: frames are built with the engine and the codec, not the edge SDK.
 */
class ProtocolErrorsTest {
    static ServerFixture fx;
    static final OkHttpClient HTTP = ServerFixture.HTTP;
    static final FrameCodec CODEC = new FrameCodec();
    static final ObjectMapper JSON = ServerFixture.JSON;
    static final String GOOD_SESSION = "{\"splitLayer\":2,\"codec\":\"fp32\",\"cloudWeights\":\"f32\",\"maxSeqLen\":64,"
            + "\"temperature\":0,\"topP\":1,\"seed\":1}";

    @BeforeAll
    static void start() {
        ServerConfig c = ServerConfig.defaults(Set.of(ServerFixture.TOKEN, ServerFixture.OTHER_TOKEN)).withLimits(4, 64L << 20, Duration.ofMinutes(5));
        fx = new ServerFixture(new ServerConfig(c.host(), c.port(), c.tokens(), c.maxSessions(), c.maxKvBytes(), c.idleTimeout(),
                64 * 1024, c.maxSeqLen()).withQuotas(c.maxSessions(), c.maxKvBytes())); // server-wide caps here; quotas: QuotaTest
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    static ServerFixture.Reply call(String method, String path, String token, String body) throws Exception {
        return fx.call(method, path, token, body);
    }

    static void assertError(ServerFixture.Reply r, int status, String code) {
        assertEquals(status, r.status(), String.valueOf(r.body()));
        assertNotNull(r.body(), "error replies carry a JSON body");
        assertEquals("error", r.body().path("type").asText());
        assertEquals(code, r.body().path("code").asText(), r.body().toString());
        assertFalse(r.body().path("message").asText().isEmpty());
    }

    @Test
    void missingOrWrongTokenIs401() throws Exception {
        assertError(call("POST", "/v1/sessions", null, GOOD_SESSION), 401, "unauthorized");
        assertError(call("POST", "/v1/sessions", "nope", GOOD_SESSION), 401, "unauthorized");
        assertError(call("POST", "/v1/completions", null, "{\"prompt\":\"x\",\"maxTokens\":1}"), 401, "unauthorized");
        assertEquals(200, call("GET", "/v1/health", null, null).status());
    }

    @Test
    void malformedSessionRequestsAre400() throws Exception {
        assertError(call("POST", "/v1/sessions", ServerFixture.TOKEN, "{not json"), 400, "bad_request");
        assertError(call("POST", "/v1/sessions", ServerFixture.TOKEN, ""), 400, "bad_request");
        assertError(call("POST", "/v1/sessions", ServerFixture.TOKEN, GOOD_SESSION.replace("\"splitLayer\":2", "\"splitLayer\":9")), 400, "bad_request");
        assertError(call("POST", "/v1/sessions", ServerFixture.TOKEN, GOOD_SESSION.replace("\"maxSeqLen\":64", "\"maxSeqLen\":100000")), 400, "bad_request");
        assertError(call("POST", "/v1/sessions", ServerFixture.TOKEN, GOOD_SESSION.replace("fp32", "zip9")), 400, "bad_request");
        assertError(call("POST", "/v1/sessions", ServerFixture.TOKEN, GOOD_SESSION.replace("\"f32\"", "\"q2_k\"")), 400, "bad_request");
        assertError(call("POST", "/v1/sessions", ServerFixture.TOKEN, GOOD_SESSION.replace("\"temperature\":0", "\"temperature\":-1")), 400, "bad_request");
    }

    @Test
    void unknownOrForeignSessionIs404() throws Exception {
        assertError(call("GET", "/v1/sessions/0123456789abcdef0123456789abcdef", ServerFixture.TOKEN, null), 404, "not_found");
        ServerFixture.Reply created = call("POST", "/v1/sessions", ServerFixture.TOKEN, GOOD_SESSION);
        String id = created.body().path("sessionId").asText();
        assertEquals(32, id.length());
        assertError(call("GET", "/v1/sessions/" + id, ServerFixture.OTHER_TOKEN, null), 404, "not_found");
        assertError(call("DELETE", "/v1/sessions/" + id, ServerFixture.OTHER_TOKEN, null), 404, "not_found");
        assertEquals(204, call("DELETE", "/v1/sessions/" + id, ServerFixture.TOKEN, null).status());
        assertError(call("DELETE", "/v1/sessions/" + id, ServerFixture.TOKEN, null), 404, "not_found");
    }

    @Test
    void streamUpgradeNeedsTheOwnersToken() throws Exception {
        ServerFixture.Reply created = call("POST", "/v1/sessions", ServerFixture.TOKEN, GOOD_SESSION);
        String url = fx.server.baseUrl().replace("http", "ws") + created.body().path("streamPath").asText();
        try (RawStream anon = new RawStream(HTTP, url, null); RawStream other = new RawStream(HTTP, url, ServerFixture.OTHER_TOKEN)) {
            assertTrue(anon.next().startsWith("failure:HTTP 401"));
            assertTrue(other.next().startsWith("failure:HTTP 404"));
        } finally {
            call("DELETE", "/v1/sessions/" + created.body().path("sessionId").asText(), ServerFixture.TOKEN, null);
        }
    }

    @Test
    void badFramesAreRefusedAndTheSessionGoesOn() throws Exception {
        ServerFixture.Reply created = call("POST", "/v1/sessions", ServerFixture.TOKEN, GOOD_SESSION);
        String id = created.body().path("sessionId").asText();
        long tag = created.body().path("frameSession").asLong();
        String url = fx.server.baseUrl().replace("http", "ws") + created.body().path("streamPath").asText();
        int[] prompt = ServerFixture.tokenizer().encode("Once upon a time", true);
        int[] expected = fx.monolithic("Once upon a time", 3, Sampler.greedy());
        try (Segment seg = fx.front(2, 64); RawStream ws = new RawStream(HTTP, url, ServerFixture.TOKEN)) {
            float[] h = seg.embed(prompt);
            seg.forward(h, prompt.length);
            CodecSpec fp32 = CodecSpec.parse("fp32");
            byte[] good0 = CODEC.encode(new FrameHeader(tag, 0, Phase.PREFILL, 2, 0, prompt.length, 288, fp32), h);

            byte[] garbage = new byte[100];
            new Random(1).nextBytes(garbage);
            ws.send(garbage);
            assertCode(ws.next(), "bad_frame");

            byte[] flipped = good0.clone();
            flipped[flipped.length / 2] ^= 0x10;
            ws.send(flipped);
            assertCode(ws.next(), "bad_frame");

            // (A message above the frame limit closes the socket with 1009: HardeningTest.)

            float[] narrow = java.util.Arrays.copyOf(h, prompt.length * 144);
            ws.send(CODEC.encode(new FrameHeader(tag, 0, Phase.PREFILL, 2, 0, prompt.length, 144, fp32), narrow));
            assertCode(ws.next(), "bad_frame"); // wrong d

            ws.send(CODEC.encode(new FrameHeader(tag, 0, Phase.PREFILL, 3, 0, prompt.length, 288, fp32), h));
            assertCode(ws.next(), "bad_frame"); // wrong split layer

            ws.send(CODEC.encode(new FrameHeader(tag + 1, 0, Phase.PREFILL, 2, 0, prompt.length, 288, fp32), h));
            assertCode(ws.next(), "bad_frame"); // another session's tag

            ws.send(CODEC.encode(new FrameHeader(tag, 5, Phase.PREFILL, 2, 0, prompt.length, 288, fp32), h));
            assertCode(ws.next(), "bad_step"); // skipped steps

            ws.send(good0);
            JsonNode t0 = JSON.readTree(ws.next());
            assertEquals("token", t0.path("type").asText());
            assertEquals(expected[0], t0.path("token").asInt());

            ws.send(good0); // a resend of the last step is answered again, not recomputed
            JsonNode again = JSON.readTree(ws.next());
            assertEquals(t0.path("token").asInt(), again.path("token").asInt());
            assertEquals(0, again.path("step").asInt());

            float[] h1 = seg.embed(new int[] {expected[0]});
            seg.forward(h1, 1);
            byte[] good1 = CODEC.encode(new FrameHeader(tag, 1, Phase.DECODE, 2, prompt.length, 1, 288, fp32), h1);
            ws.send(good1);
            assertEquals(expected[1], JSON.readTree(ws.next()).path("token").asInt());

            ws.send(good0); // an older step than the last answered one
            assertCode(ws.next(), "bad_step");

            float[] h2 = seg.embed(new int[] {expected[1]});
            seg.forward(h2, 1);
            ws.send(CODEC.encode(new FrameHeader(tag, 2, Phase.DECODE, 2, prompt.length + 1, 1, 288, fp32), h2));
            assertEquals(expected[2], JSON.readTree(ws.next()).path("token").asInt(), "the session survived every bad frame");
        } finally {
            call("DELETE", "/v1/sessions/" + id, ServerFixture.TOKEN, null);
        }
        // And the server still serves everyone else (a whole split run over a fresh raw stream).
        assertArrayEquals(fx.monolithic("The dog", 10, Sampler.greedy()),
                RawEdge.generate(fx, 4, "fp32", "The dog", 10, "\"temperature\":0,\"topP\":1,\"seed\":1"));
    }

    static void assertCode(String message, String code) throws Exception {
        JsonNode n = JSON.readTree(message);
        assertEquals("error", n.path("type").asText(), message);
        assertEquals(code, n.path("code").asText(), message);
        assertFalse(n.path("fatal").asBoolean(), message);
    }

    @Test
    void sessionAndMemoryCapsGiveAClearError() throws Exception {
        String[] ids = new String[4];
        try {
            for (int i = 0; i < 4; i++) {
                ServerFixture.Reply r = call("POST", "/v1/sessions", ServerFixture.TOKEN, GOOD_SESSION);
                assertEquals(201, r.status(), String.valueOf(r.body()));
                ids[i] = r.body().path("sessionId").asText();
            }
            ServerFixture.Reply refused = call("POST", "/v1/sessions", ServerFixture.TOKEN, GOOD_SESSION);
            assertError(refused, 503, "limit");
            assertTrue(refused.body().path("message").asText().contains("session limit"));
        } finally {
            for (String id : ids) if (id != null) call("DELETE", "/v1/sessions/" + id, ServerFixture.TOKEN, null);
        }
        // 64 MiB of KV at 4 cloud layers x 2 x 288 x 4 bytes = 9216 B per position: 256 positions fit many times,
        // but a request beyond the model's context is refused up front.
        ServerFixture.Reply big = call("POST", "/v1/sessions", ServerFixture.TOKEN, GOOD_SESSION.replace("\"maxSeqLen\":64", "\"maxSeqLen\":257"));
        assertError(big, 400, "bad_request");
    }

    @Test
    void completionEndpointMatchesTheModel() throws Exception {
        ServerFixture.Reply r = call("POST", "/v1/completions", ServerFixture.TOKEN,
                "{\"prompt\":\"Once upon a time\",\"maxTokens\":21,\"temperature\":0,\"topP\":1,\"seed\":1}");
        assertEquals(200, r.status(), String.valueOf(r.body()));
        assertEquals(", there was a little girl named Lily. She loved to play outside in the sunshine.", r.body().path("text").asText());
        assertError(call("POST", "/v1/completions", ServerFixture.TOKEN, "{\"prompt\":\"x\",\"maxTokens\":0}"), 400, "bad_request");
    }

    @Test
    void metricsAndHealthReport() throws Exception {
        Request req = new Request.Builder().url(fx.server.baseUrl() + "/metrics").build();
        try (Response r = HTTP.newCall(req).execute()) {
            String text = r.body().string();
            assertEquals(200, r.code());
            for (String name : new String[] {"splitllm_sessions_active", "splitllm_bytes_in_total", "splitllm_kv_reserved_bytes",
                    "splitllm_sessions_created_total"}) {
                assertTrue(text.contains(name), name);
            }
        }
        JsonNode health = call("GET", "/v1/health", null, null).body();
        assertEquals(288, health.path("model").path("dim").asInt());
        assertEquals("ok", health.path("status").asText());
    }
}
