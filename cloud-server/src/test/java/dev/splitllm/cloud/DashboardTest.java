package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
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
            JsonNode p = s.path("cloudMs");
            assertTrue(p.path("count").asInt() >= 10);
            assertTrue(p.path("p50").asDouble() <= p.path("p90").asDouble() && p.path("p90").asDouble() <= p.path("p99").asDouble(), p.toString());
            assertTrue(server.path("tokenIntervalMs").path("p50").asDouble() > 0);
        }
        JsonNode after = fx.call("GET", "/v1/dashboard", ServerFixture.TOKEN, null).body();
        assertEquals(0, after.path("sessions").size(), "a closed session leaves the table");
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
