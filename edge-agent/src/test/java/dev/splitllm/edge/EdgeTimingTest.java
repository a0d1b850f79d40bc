package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.quantization.codec.CodecSpec;
import java.util.HashMap;
import java.util.Map;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

/**
 * The edge's timing messages (docs/PROTOCOL.md, "Timing") end to end: a real split session on the
 * real model over a loopback socket, and the server's dashboard then holds, for every step, the
 * edge's own blocks, encode and round-trip times exactly as the edge measured them.
 */
class EdgeTimingTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aSplitSessionsTimingsReachTheServersDashboard() throws Exception {
        OkHttpClient http = new OkHttpClient();
        try (Fixture fx = new Fixture(); EdgeModel model = fx.edge(3);
             EdgeSession session = EdgeSession.open(model, fx.options().withCodec(CodecSpec.parse("tabq:eps=1e-3,bits=2/3/4/6/8")))) {
            GenerationResult r = session.generate("Once upon a time", 24, (id, text, stats) -> { });
            int steps = r.steps().size();
            assertTrue(steps >= 2, "a prefill and decode steps: " + steps);

            // The last timing is queued as its token arrives, never awaited: wait for it to land.
            JsonNode s = null;
            long end = System.currentTimeMillis() + 10_000;
            while (System.currentTimeMillis() < end) {
                s = dashboardSession(http, fx, session.sessionId());
                if (s.path("timings").asInt() >= steps) break;
                Thread.sleep(50);
            }
            assertEquals(steps, s.path("timings").asInt(), "one timing per step, none refused: " + s);
            assertEquals(steps, s.path("steps").asInt());

            Map<Long, JsonNode> timeline = new HashMap<>();
            for (JsonNode e : s.path("timeline")) timeline.put(e.path("step").asLong(), e);
            for (StepStats st : r.steps()) {
                JsonNode e = timeline.get(st.step());
                assertNotNull(e, "step " + st.step() + " on the timeline");
                assertEquals(st.edgeMs(), e.path("edgeMs").asDouble(), 0.0011, e.toString());
                assertEquals(st.encodeMs(), e.path("encodeMs").asDouble(), 0.0011, e.toString());
                assertEquals(st.networkCloudMs(), e.path("roundTripMs").asDouble(), 0.0011, e.toString());
                double serverMs = e.path("cloudMs").asDouble() + e.path("serverOtherMs").asDouble();
                double network = e.path("networkMs").asDouble();
                assertTrue(network >= 0 && network <= e.path("roundTripMs").asDouble(), e.toString());
                assertEquals(Math.max(0, st.networkCloudMs() - serverMs), network, 0.01, "network = round trip - server time: " + e);
                assertTrue(e.path("roundTripMs").asDouble() >= e.path("cloudMs").asDouble(),
                        "the round trip holds the cloud's compute: " + e);
            }
            assertTrue(timeline.get(1L).path("edgeMs").asDouble() > 0, "the edge's blocks take time");
        } finally {
            http.dispatcher().executorService().shutdown();
            http.connectionPool().evictAll();
        }
    }

    private static JsonNode dashboardSession(OkHttpClient http, Fixture fx, String id) throws Exception {
        Request req = new Request.Builder().url(fx.uri() + "/v1/dashboard").header("Authorization", "Bearer " + Fixture.TOKEN).build();
        try (Response resp = http.newCall(req).execute()) {
            assertEquals(200, resp.code());
            for (JsonNode s : JSON.readTree(resp.body().string()).path("sessions")) {
                if (s.path("id").asText().equals(id.substring(0, 8))) return s;
            }
        }
        throw new AssertionError("session " + id + " is not on the dashboard");
    }
}
