package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.quantization.codec.CodecSpec;
import java.io.IOException;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The attacks of the hardening pass, each replayed on loopback (bounded in count and time) with
 * the bound it must now meet: no HTTP sessions, no compression, message limit = frame limit, a
 * bounded outgoing queue, strikes for junk, an idle clock that junk cannot move.
 */
class HardeningTest {
    static final int FRAME_LIMIT = 64 * 1024;
    static final String SESSION = "{\"splitLayer\":2,\"codec\":\"fp16\",\"cloudWeights\":\"f32\",\"maxSeqLen\":64,"
            + "\"temperature\":0,\"topP\":1,\"seed\":1}";
    static ServerFixture fx;

    @BeforeAll
    static void start() {
        fx = new ServerFixture(ServerConfig.defaults(Set.of(ServerFixture.TOKEN, ServerFixture.OTHER_TOKEN))
                .withLimits(16, 256L << 20, Duration.ofSeconds(2)).withMaxFrameBytes(FRAME_LIMIT));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    static JsonNode create() throws Exception {
        ServerFixture.Reply r = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, SESSION);
        assertEquals(201, r.status(), String.valueOf(r.body()));
        return r.body();
    }

    static void delete(JsonNode created) throws Exception {
        fx.call("DELETE", "/v1/sessions/" + created.path("sessionId").asText(), ServerFixture.TOKEN, null);
    }

    @Test
    void upgradesCreateNoHttpSessionAndNeverNegotiateCompression() throws Exception {
        JsonNode s = create();
        String path = s.path("streamPath").asText();
        for (int i = 0; i < 200; i++) { // the leak was one JSESSIONID per attempt
            try (RawWebSocket ws = new RawWebSocket(fx.server.port(), path, i % 2 == 0 ? null : "wrong", 0)) {
                assertEquals(401, ws.status);
                assertNull(ws.headers.get("set-cookie"), "attempt " + i + ": " + ws.headers);
            }
        }
        try (RawWebSocket ws = new RawWebSocket(fx.server.port(), path, ServerFixture.TOKEN, 0)) {
            assertEquals(101, ws.status, ws.headers.toString());
            assertNull(ws.headers.get("set-cookie"), ws.headers.toString());
            assertNull(ws.headers.get("sec-websocket-extensions"), "permessage-deflate was offered and must be declined");
        }
        delete(s);
    }

    @Test
    void aMessageAboveTheFrameLimitClosesTheSocketWith1009() throws Exception {
        JsonNode s = create();
        try (RawWebSocket ws = new RawWebSocket(fx.server.port(), s.path("streamPath").asText(), ServerFixture.TOKEN, 0)) {
            ws.sendBinary(new byte[FRAME_LIMIT]); // at the limit: read, refused as a bad frame, socket stays
            assertEquals("bad_frame", ServerFixture.JSON.readTree(ws.read().text()).path("code").asText());
            ws.sendBinary(new byte[FRAME_LIMIT + 1]);
            RawWebSocket.Message m = ws.read();
            assertEquals(8, m.opcode(), "a close frame");
            assertEquals(1009, m.closeCode());
        }
        delete(s);
    }

    @Test
    void consecutiveBadFramesCloseTheSocketButTheSessionStays() throws Exception {
        JsonNode s = create();
        byte[] junk = new byte[200];
        new Random(3).nextBytes(junk);
        try (RawWebSocket ws = new RawWebSocket(fx.server.port(), s.path("streamPath").asText(), ServerFixture.TOKEN, 0)) {
            int errors = 0;
            RawWebSocket.Message m = null;
            for (int i = 0; i < SocketGuard.MAX_CONSECUTIVE_BAD_FRAMES + 4; i++) {
                try {
                    ws.sendBinary(junk);
                } catch (IOException closedMeanwhile) {
                    break;
                }
            }
            for (int i = 0; i < SocketGuard.MAX_CONSECUTIVE_BAD_FRAMES + 4; i++) {
                m = ws.read();
                if (m.opcode() != 1) break;
                errors++;
            }
            assertEquals(SocketGuard.MAX_CONSECUTIVE_BAD_FRAMES, errors, "one JSON refusal per bad frame up to the strike limit");
            assertEquals(8, m.opcode());
            assertEquals(1008, m.closeCode());
        }
        assertEquals(200, fx.call("GET", "/v1/sessions/" + s.path("sessionId").asText(), ServerFixture.TOKEN, null).status(),
                "closing the socket leaves the session to its owner");
        delete(s);
    }

    @Test
    void junkDoesNotMoveTheIdleClock() throws Exception {
        JsonNode s = create();
        String id = s.path("sessionId").asText();
        byte[] junk = new byte[64];
        long t0 = System.nanoTime();
        boolean expired = false;
        // Junk every 100 ms on fresh sockets (under the strike limit); the session must still
        // expire after its 2 s idle timeout. Bounded: 15 s.
        while (!expired && System.nanoTime() - t0 < 15_000_000_000L) {
            try (RawWebSocket ws = new RawWebSocket(fx.server.port(), s.path("streamPath").asText(), ServerFixture.TOKEN, 0)) {
                if (ws.status != 101) {
                    expired = ws.status == 404;
                    break;
                }
                for (int i = 0; i < 5; i++) {
                    ws.sendBinary(junk);
                    if (ws.read().opcode() != 1) break;
                    Thread.sleep(100);
                }
            } catch (IOException closedByExpiry) {
                // the sweep closed the socket under us: look again
            }
            expired = expired || fx.call("GET", "/v1/sessions/" + id, ServerFixture.TOKEN, null).status() == 404;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(expired, "a session fed only junk must expire");
        assertTrue(seconds < 10, "expired after " + seconds + " s with a 2 s idle timeout");
    }

    @Test
    void aClientThatNeverReadsIsClosedNotBufferedFor() throws Exception {
        // Its own server: replays do not move the idle clock, so the 2 s timeout above would end it first.
        try (ServerFixture slow = new ServerFixture(ServerConfig.defaults(Set.of(ServerFixture.TOKEN)))) {
            neverReads(slow);
        }
    }

    static void neverReads(ServerFixture fx) throws Exception {
        ServerFixture.Reply created = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, SESSION);
        assertEquals(201, created.status(), String.valueOf(created.body()));
        JsonNode s = created.body();
        int[] prompt = {1};
        byte[] frame;
        try (RawEdge edge = new RawEdge(fx, 2, 64, CodecSpec.parse("fp16"), s.path("frameSession").asLong())) {
            frame = edge.next(prompt);
        }
        long closedBefore = errorCount(fx, "slow_reader");
        int sent = 0;
        boolean cutOff = false;
        long t0 = System.nanoTime();
        // Step 0, then the same frame again and again: each is answered (a replay), never read.
        try (RawWebSocket ws = new RawWebSocket(fx.server.port(), s.path("streamPath").asText(), ServerFixture.TOKEN, 2048)) {
            assertEquals(101, ws.status);
            while (sent < 200_000 && System.nanoTime() - t0 < 60_000_000_000L) {
                try {
                    ws.sendBinary(frame);
                    sent++;
                } catch (IOException e) {
                    cutOff = true;
                    break;
                }
                if (sent % 1000 == 0 && errorCount(fx, "slow_reader") > closedBefore) {
                    cutOff = true;
                    break;
                }
            }
        }
        assertTrue(cutOff, "the server must cut off a client that never reads (sent " + sent + " frames)");
        assertTrue(errorCount(fx, "slow_reader") > closedBefore, fx.server.metricsText());
    }

    static long errorCount(ServerFixture fx, String code) {
        for (String line : fx.server.metricsText().split("\n")) {
            if (line.startsWith("splitllm_errors_total{code=\"" + code + "\"}")) {
                return Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }
}
