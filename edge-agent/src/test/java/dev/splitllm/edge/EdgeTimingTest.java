package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.quantization.codec.CodecSpec;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
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

    /**
     * A server from before timing messages refuses every text message with {@code bad_frame}: the
     * edge must not take that for a refusal of its step, and stops sending timings there. The old
     * server here is a stand-in on loopback that answers as the old one did (a token per frame).
     */
    @Test
    void anOlderServerThatRefusesTextMessagesDoesNotBreakTheSession() throws Exception {
        AtomicInteger frames = new AtomicInteger();
        AtomicInteger texts = new AtomicInteger();
        io.javalin.Javalin old = io.javalin.Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.routes.put("/v1/sessions/{id}", ctx -> {
                String id = ctx.pathParam("id");
                ctx.status(201).contentType("application/json").result(JSON.createObjectNode().put("sessionId", id)
                        .put("streamPath", "/v1/sessions/" + id + "/stream").put("frameSession", 42L).put("splitLayer", 3)
                        .put("dim", 288).put("maxSeqLen", 128).put("codec", "fp32").put("cloudWeights", "f32")
                        .put("maxFrameBytes", 1 << 20).put("epoch", 0).putNull("resumeTicket").toString());
            });
            cfg.routes.delete("/v1/sessions/{id}", ctx -> ctx.status(204));
            cfg.routes.ws("/v1/sessions/{id}/stream", ws -> {
                ws.onBinaryMessage(ctx -> ctx.send("{\"type\":\"token\",\"step\":" + frames.getAndIncrement()
                        + ",\"token\":1000,\"cloudMs\":0.5}"));
                ws.onMessage(ctx -> {
                    texts.incrementAndGet();
                    ctx.send("{\"type\":\"error\",\"code\":\"bad_frame\",\"message\":\"text messages are not accepted on the"
                            + " stream; send binary frames\",\"step\":-1,\"fatal\":false}");
                });
            });
        }).start("127.0.0.1", 0);
        try (EdgeModel model = EdgeModel.load(Fixture.checkpoint(), Fixture.tokenizerFile(), 3, 1);
             EdgeSession session = EdgeSession.open(model, EdgeOptions.defaults(java.net.URI.create("http://127.0.0.1:" + old.port()),
                     Fixture.TOKEN).withMaxSeqLen(128).withCodec(CodecSpec.parse("fp32")))) {
            GenerationResult r = session.generate("Once upon a time", 6, (id, text, stats) -> { });
            assertEquals(6, r.tokens().length, "every step answered: " + r.stopReason());
            assertEquals(6, frames.get());
            assertEquals(1, texts.get(), "one timing, refused, then none");
        } finally {
            old.stop();
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
