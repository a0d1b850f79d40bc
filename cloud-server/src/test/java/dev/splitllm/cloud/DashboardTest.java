package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.quantization.codec.CodecSpec;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The dashboard's page and its JSON state while a real split session runs. */
class DashboardTest {
    static ServerFixture fx;

    @BeforeAll
    static void start() {
        fx = new ServerFixture(ServerConfig.defaults(Set.of(ServerFixture.TOKEN)));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void stateShowsTheRunningSessionWithItsTimeline() throws Exception {
        try (LiveSession live = new LiveSession(fx, 2, "tabq:eps=1e-3,bits=2/3/4/6/8", 0)) {
            live.awaitTokens(12, 60_000);
            ServerFixture.Reply r = fx.call("GET", "/v1/dashboard", ServerFixture.TOKEN, null);
            assertEquals(200, r.status(), String.valueOf(r.body()));
            JsonNode server = r.body().path("server");
            assertEquals(1, server.path("sessions").asInt());
            assertTrue(server.path("kvReservedBytes").asLong() > 0);
            assertTrue(server.path("kvReservedBytes").asLong() <= server.path("kvCapBytes").asLong());
            JsonNode s = r.body().path("sessions").get(0);
            assertEquals(live.id.substring(0, 8), s.path("id").asText());
            assertEquals(2, s.path("splitLayer").asInt());
            assertTrue(s.path("codec").asText().startsWith("tabq"), s.toString());
            assertEquals("f32", s.path("cloudWeights").asText());
            assertTrue(s.path("steps").asInt() >= 12, s.toString());
            assertTrue(s.path("bytesUp").asLong() > 12 * 100, "frames went up: " + s);
            assertTrue(s.path("bytesDown").asLong() > 12 * 20, "tokens came down: " + s);
            JsonNode tl = s.path("timeline");
            assertEquals("prefill", tl.get(0).path("phase").asText());
            assertTrue(tl.get(0).path("edgeAndLinkMs").isNull(), "nothing precedes a prefill");
            JsonNode d = tl.get(2);
            assertEquals("decode", d.path("phase").asText());
            assertTrue(d.path("cloudMs").asDouble() > 0, d.toString());
            assertTrue(d.path("edgeAndLinkMs").asDouble() > 0, "the edge's blocks run between two frames: " + d);
            assertTrue(d.path("edgeMs").isNull() && d.path("networkMs").isNull(), "this edge sends no timings: " + d);
            assertEquals(0, s.path("timings").asInt());
            JsonNode p = s.path("cloudMs");
            assertTrue(p.path("count").asInt() >= 10);
            assertTrue(p.path("p50").asDouble() <= p.path("p90").asDouble() && p.path("p90").asDouble() <= p.path("p99").asDouble(), p.toString());
            assertTrue(server.path("tokenIntervalMs").path("p50").asDouble() > 0);
        }
        JsonNode after = fx.call("GET", "/v1/dashboard", ServerFixture.TOKEN, null).body();
        assertEquals(0, after.path("sessions").size(), "a closed session leaves the table");
    }

    /** A raw edge over a bare socket: its frames, its tokens, and timing messages valid and not. */
    @Test
    void timingMessagesSplitTheTimelineAndBadOnesAreRefusedWithoutHarmingTheSession() throws Exception {
        ServerFixture.Reply created = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, "{\"splitLayer\":3,\"codec\":\"fp16\","
                + "\"cloudWeights\":\"f32\",\"maxSeqLen\":64,\"temperature\":0,\"topP\":1,\"seed\":1}");
        assertEquals(201, created.status(), String.valueOf(created.body()));
        String id = created.body().path("sessionId").asText();
        try (RawEdge edge = new RawEdge(fx, 3, 64, CodecSpec.parse("fp16"), created.body().path("frameSession").asLong());
             RawWebSocket ws = new RawWebSocket(fx.server.port(), created.body().path("streamPath").asText(), ServerFixture.TOKEN, 0)) {
            assertEquals(101, ws.status);
            int[] input = ServerFixture.tokenizer().encode("Once upon a time", true);
            int t0 = step(ws, edge, input, 0);
            ws.sendText(timing(0, 12.5, 0.25, 30.0)); // taken: no answer
            int t1 = step(ws, edge, new int[] {t0}, 1);

            // Each bad one gets one bad_timing refusal naming what is wrong; nothing else happens.
            String big = "{\"type\":\"timing\",\"step\":1,\"edgeMs\":1,\"encodeMs\":1,\"roundTripMs\":1" + " ".repeat(600) + "}";
            List<String[]> bad = List.of(
                    new String[] {timing(0, 1, 1, 1), "already has a timing"},
                    new String[] {timing(2, 1, 1, 1), "has not been answered"},
                    new String[] {timing(1, -1, 1, 1), "'edgeMs' must be finite, >= 0"},
                    new String[] {"{\"type\":\"timing\",\"step\":1,\"edgeMs\":1e400,\"encodeMs\":1,\"roundTripMs\":1}", "'edgeMs' must be finite"},
                    new String[] {timing(1, 1, 1, 600_000), "'roundTripMs' must be finite, >= 0 and below 600000"},
                    new String[] {"{\"type\":\"timing\",\"step\":1,\"edgeMs\":\"1\",\"encodeMs\":1,\"roundTripMs\":1}", "'edgeMs' must be a number"},
                    new String[] {"{\"type\":\"timing\",\"step\":1,\"edgeMs\":1,\"roundTripMs\":1}", "'encodeMs' must be a number, got null"},
                    new String[] {"{\"type\":\"timing\",\"step\":1.5,\"edgeMs\":1,\"encodeMs\":1,\"roundTripMs\":1}", "'step' must be a non-negative integer"},
                    new String[] {"{\"type\":\"timing\",\"step\":1,\"edgeMs\":1,\"encodeMs\":1,\"roundTripMs\":1,\"gpuMs\":1}", "unknown field 'gpuMs'"},
                    new String[] {"{\"type\":\"timing\",\"step\":1,\"step\":1,\"edgeMs\":1,\"encodeMs\":1,\"roundTripMs\":1}", "not a timing message"},
                    new String[] {"{\"type\":\"token\",\"step\":1}", "the only text message the stream takes"},
                    new String[] {"[1,2]", "a timing message is a JSON object"},
                    new String[] {"not json", "not a timing message"},
                    new String[] {big, "a timing message has at most 512"});
            for (String[] b : bad) {
                ws.sendText(b[0]);
                JsonNode e = ServerFixture.JSON.readTree(ws.read().text());
                assertEquals("error", e.path("type").asText(), b[0]);
                assertEquals("bad_timing", e.path("code").asText(), e.toString());
                assertTrue(e.path("message").asText().contains(b[1]), b[1] + " in " + e);
                assertFalse(e.path("fatal").asBoolean());
            }
            // The session goes on as if nothing had come: the next step, and more timings, are taken.
            int t2 = step(ws, edge, new int[] {t1}, 2);
            ws.sendText(timing(1, 3.0, 0.5, 20.0));
            ws.sendText(timing(2, 2.0, 0.125, 0.001)); // a round trip shorter than the server's time: network 0, not negative
            step(ws, edge, new int[] {t2}, 3);
            int[] greedy = RawEdge.generate(fx, 3, "fp16", "Once upon a time", 3, "\"temperature\":0,\"topP\":1,\"seed\":1");
            assertArrayEquals(greedy, new int[] {t0, t1, t2}, "the refused messages did not change the tokens");

            JsonNode s = session(id);
            assertEquals(4, s.path("steps").asInt(), s.toString());
            assertEquals(3, s.path("timings").asInt(), s.toString());
            JsonNode tl = s.path("timeline");
            JsonNode e0 = tl.get(0);
            assertEquals(12.5, e0.path("edgeMs").asDouble());
            assertEquals(0.25, e0.path("encodeMs").asDouble());
            assertEquals(30.0, e0.path("roundTripMs").asDouble());
            double server0 = e0.path("cloudMs").asDouble() + e0.path("serverOtherMs").asDouble();
            assertEquals(Math.max(0, 30.0 - server0), e0.path("networkMs").asDouble(), 0.002, "network = round trip - server time: " + e0);
            JsonNode e1 = tl.get(1);
            assertEquals(3.0, e1.path("edgeMs").asDouble());
            assertTrue(e1.path("networkMs").asDouble() >= 0 && e1.path("networkMs").asDouble() <= 20.0, e1.toString());
            assertFalse(e1.path("edgeAndLinkMs").isNull(), "the server's own gap stays, for comparison");
            assertEquals(0.0, tl.get(2).path("networkMs").asDouble(), tl.get(2).toString());
            assertTrue(tl.get(3).path("edgeMs").isNull(), "no timing sent for step 3: " + tl.get(3));
        } finally {
            fx.call("DELETE", "/v1/sessions/" + id, ServerFixture.TOKEN, null);
        }
    }

    /** Refused text messages are strikes like refused frames: a socket sending only junk is closed, the session stays. */
    @Test
    void onlyRefusedTextMessagesCloseTheSocketButNotTheSession() throws Exception {
        ServerFixture.Reply created = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, "{\"splitLayer\":3,\"codec\":\"fp16\","
                + "\"cloudWeights\":\"f32\",\"maxSeqLen\":64,\"temperature\":0,\"topP\":1,\"seed\":1}");
        String id = created.body().path("sessionId").asText();
        try (RawWebSocket ws = new RawWebSocket(fx.server.port(), created.body().path("streamPath").asText(), ServerFixture.TOKEN, 0)) {
            int refusals = 0;
            RawWebSocket.Message m = null;
            for (int i = 0; i < SocketGuard.MAX_CONSECUTIVE_BAD_FRAMES; i++) {
                ws.sendText(timing(i, 1, 1, 1)); // no step answered yet: every one is refused
            }
            for (int i = 0; i < SocketGuard.MAX_CONSECUTIVE_BAD_FRAMES + 1; i++) {
                m = ws.read();
                if (m.opcode() != 1) break;
                assertEquals("bad_timing", ServerFixture.JSON.readTree(m.text()).path("code").asText());
                refusals++;
            }
            assertEquals(SocketGuard.MAX_CONSECUTIVE_BAD_FRAMES, refusals);
            assertEquals(8, m.opcode(), "then a close frame");
            assertEquals(1008, m.closeCode());
        }
        assertEquals(200, fx.call("GET", "/v1/sessions/" + id, ServerFixture.TOKEN, null).status(), "the session stays");
        assertEquals(0, fx.call("GET", "/v1/sessions/" + id, ServerFixture.TOKEN, null).body().path("nextStep").asInt());
        fx.call("DELETE", "/v1/sessions/" + id, ServerFixture.TOKEN, null);
    }

    private static String timing(long step, double edgeMs, double encodeMs, double roundTripMs) {
        return ServerFixture.JSON.createObjectNode().put("type", "timing").put("step", step).put("edgeMs", edgeMs)
                .put("encodeMs", encodeMs).put("roundTripMs", roundTripMs).toString();
    }

    /** Sends the frame of {@code step} and returns its token. */
    private static int step(RawWebSocket ws, RawEdge edge, int[] input, long step) throws IOException {
        ws.sendBinary(edge.next(input));
        JsonNode m = ServerFixture.JSON.readTree(ws.read().text());
        assertEquals("token", m.path("type").asText(), m.toString());
        assertEquals(step, m.path("step").asLong());
        return m.path("token").asInt();
    }

    private static JsonNode session(String id) throws IOException {
        ServerFixture.Reply r = fx.call("GET", "/v1/dashboard", ServerFixture.TOKEN, null);
        assertEquals(200, r.status());
        for (JsonNode s : r.body().path("sessions")) {
            if (s.path("id").asText().equals(id.substring(0, 8))) return s;
        }
        throw new AssertionError("session " + id + " is not on the dashboard: " + r.body());
    }

    @Test
    void pageIsServedFromTheJarAndStateNeedsAToken() throws Exception {
        try (Response r = ServerFixture.HTTP.newCall(new Request.Builder().url(fx.baseUrl() + "/dashboard").build()).execute()) {
            assertEquals(200, r.code());
            assertTrue(r.header("Content-Type").startsWith("text/html"));
            String html = r.body().string();
            assertTrue(html.contains("/dashboard/dashboard.js"));
            assertFalse(html.contains("https://"), "no CDN: everything comes from this server");
        }
        try (Response r = ServerFixture.HTTP.newCall(new Request.Builder().url(fx.baseUrl() + "/dashboard/dashboard.js").build()).execute()) {
            assertEquals(200, r.code());
            assertTrue(r.body().string().contains("/v1/dashboard"));
        }
        assertEquals(404, fx.call("GET", "/dashboard/..%2Fapplication.conf", ServerFixture.TOKEN, null).status());
        assertEquals(401, fx.call("GET", "/v1/dashboard", null, null).status());
        assertEquals(401, fx.call("GET", "/v1/dashboard", "wrong", null).status());
    }
}
