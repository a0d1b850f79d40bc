package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.quantization.codec.CodecSpec;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Replay admission on a second replica (two real servers, same tokens): a good replay re-creates
 * the session and answers its last step, a repeat gets the same answer; a replay by another
 * token, with frames that do not chain (steps, CRC) or longer than the session's limit is refused
 * with a clear error and leaves no session behind. And a drain: health says draining, admissions stop.
 */
class ReplayAdmissionTest {
    static ServerFixture a;
    static ServerFixture b;

    @BeforeAll
    static void start() {
        ServerConfig config = ServerConfig.defaults(Set.of(ServerFixture.TOKEN, ServerFixture.OTHER_TOKEN));
        a = new ServerFixture(config);
        b = new ServerFixture(config);
    }

    @AfterAll
    static void stop() {
        if (a != null) a.close();
        if (b != null) b.close();
    }

    /** A session created on A (PUT with the client's id) and the frames of its first steps. */
    record Logged(String id, JsonNode created, List<byte[]> frames) {
    }

    private static Logged logOnA(int maxSeqLen, int decodes) throws IOException {
        String id = String.format("%032x", System.nanoTime()) .substring(0, 32);
        ServerFixture.Reply c = a.call("PUT", "/v1/sessions/" + id, ServerFixture.TOKEN, "{\"splitLayer\":3,\"codec\":\"fp32\","
                + "\"cloudWeights\":\"f32\",\"maxSeqLen\":" + maxSeqLen + ",\"temperature\":0.8,\"topP\":0.9,\"seed\":5}");
        assertEquals(201, c.status(), String.valueOf(c.body()));
        assertEquals(id, c.body().path("sessionId").asText());
        assertEquals(0, c.body().path("epoch").asLong());
        assertTrue(c.body().path("resumeTicket").asText().matches("[0-9a-f]{64}"));
        List<byte[]> frames = new ArrayList<>();
        try (RawEdge edge = new RawEdge(a, 3, 64, CodecSpec.parse("fp32"), c.body().path("frameSession").asLong())) {
            frames.add(edge.next(ServerFixture.tokenizer().encode("Once upon a time", true)));
            for (int i = 0; i < decodes; i++) frames.add(edge.next(new int[] {100 + i}));
        }
        return new Logged(id, c.body(), frames);
    }

    private static byte[] body(JsonNode created, long epoch, List<byte[]> frames, String ticket) throws IOException {
        ObjectNode head = ServerFixture.JSON.createObjectNode();
        head.put("splitLayer", 3).put("codec", created.path("codec").asText()).put("cloudWeights", "f32")
                .put("maxSeqLen", created.path("maxSeqLen").asInt()).put("temperature", 0.8f).put("topP", 0.9f).put("seed", 5L)
                .put("frameSession", created.path("frameSession").asLong()).put("epoch", epoch).put("resumeTicket", ticket)
                .put("frames", frames.size());
        byte[] h = ServerFixture.JSON.writeValueAsBytes(head);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt(h.length);
        out.write(h);
        for (byte[] f : frames) {
            out.writeInt(f.length);
            out.write(f);
        }
        return bytes.toByteArray();
    }

    private static ServerFixture.Reply replay(ServerFixture on, String id, String token, byte[] body) throws IOException {
        Request req = new Request.Builder().url(on.baseUrl() + "/v1/sessions/" + id + "/replay")
                .header("Authorization", "Bearer " + token)
                .post(RequestBody.create(body, MediaType.get("application/octet-stream"))).build();
        try (Response r = ServerFixture.HTTP.newCall(req).execute()) {
            return new ServerFixture.Reply(r.code(), ServerFixture.JSON.readTree(r.body().string()));
        }
    }

    private static int sessionsOn(ServerFixture fx) throws IOException {
        return fx.call("GET", "/v1/health", null, null).body().path("sessions").asInt();
    }

    @Test
    void replayRecreatesTheSessionAndARepeatGetsTheSameAnswer() throws IOException {
        Logged log = logOnA(64, 3);
        String ticket = log.created().path("resumeTicket").asText();
        int before = sessionsOn(b);
        ServerFixture.Reply r = replay(b, log.id(), ServerFixture.TOKEN, body(log.created(), 0, log.frames(), ticket));
        assertEquals(200, r.status(), String.valueOf(r.body()));
        assertEquals(1, r.body().path("epoch").asLong());
        assertEquals(3, r.body().path("step").asLong());
        assertEquals(log.frames().get(0).length / (288 * 4) + 3, r.body().path("positions").asInt(), String.valueOf(r.body()));
        ServerFixture.Reply again = replay(b, log.id(), ServerFixture.TOKEN, body(log.created(), 0, log.frames(), ticket));
        assertEquals(200, again.status());
        assertEquals(r.body().path("token").asInt(), again.body().path("token").asInt(), "a repeated replay is idempotent");
        assertEquals(before + 1, sessionsOn(b));
        assertEquals(200, b.call("GET", "/v1/sessions/" + log.id(), ServerFixture.TOKEN, null).status());
        assertEquals(404, b.call("GET", "/v1/sessions/" + log.id(), ServerFixture.OTHER_TOKEN, null).status());
        b.call("DELETE", "/v1/sessions/" + log.id(), ServerFixture.TOKEN, null);
        a.call("DELETE", "/v1/sessions/" + log.id(), ServerFixture.TOKEN, null);
    }

    @Test
    void badReplaysAreRefusedAndLeaveNoState() throws IOException {
        Logged log = logOnA(64, 3);
        String ticket = log.created().path("resumeTicket").asText();
        int before = sessionsOn(b);

        ServerFixture.Reply other = replay(b, log.id(), ServerFixture.OTHER_TOKEN, body(log.created(), 0, log.frames(), ticket));
        assertEquals(404, other.status());
        assertTrue(other.body().path("message").asText().contains("resume ticket"), other.body().toString());

        List<byte[]> swapped = new ArrayList<>(log.frames());
        swapped.set(1, log.frames().get(2));
        swapped.set(2, log.frames().get(1));
        ServerFixture.Reply steps = replay(b, log.id(), ServerFixture.TOKEN, body(log.created(), 0, swapped, ticket));
        assertEquals(400, steps.status());
        assertEquals("bad_replay", steps.body().path("code").asText());
        assertTrue(steps.body().path("message").asText().contains("step"), steps.body().toString());

        List<byte[]> corrupt = new ArrayList<>(log.frames());
        byte[] f = corrupt.get(2).clone();
        f[f.length / 2] ^= 0x5a;
        corrupt.set(2, f);
        ServerFixture.Reply crc = replay(b, log.id(), ServerFixture.TOKEN, body(log.created(), 0, corrupt, ticket));
        assertEquals(400, crc.status(), crc.body().toString());
        assertTrue(crc.body().path("message").asText().contains("frame 2"), crc.body().toString());

        ServerFixture.Reply forged = replay(b, log.id(), ServerFixture.TOKEN, body(log.created(), 0, log.frames(),
                "00".repeat(32)));
        assertEquals(404, forged.status());

        assertEquals(before, sessionsOn(b), "no refused replay leaves a session");
        assertEquals(404, b.call("GET", "/v1/sessions/" + log.id(), ServerFixture.TOKEN, null).status());
        a.call("DELETE", "/v1/sessions/" + log.id(), ServerFixture.TOKEN, null);
    }

    @Test
    void replayLongerThanTheSessionIsRefused() throws IOException {
        Logged log = logOnA(8, 4); // 5 prompt positions + 4 decodes = 9 > 8
        int before = sessionsOn(b);
        ServerFixture.Reply r = replay(b, log.id(), ServerFixture.TOKEN,
                body(log.created(), 0, log.frames(), log.created().path("resumeTicket").asText()));
        assertEquals(400, r.status(), r.body().toString());
        assertTrue(r.body().path("message").asText().contains("max sequence length 8"), r.body().toString());
        assertEquals(before, sessionsOn(b));
        a.call("DELETE", "/v1/sessions/" + log.id(), ServerFixture.TOKEN, null);
    }

    @Test
    void drainStopsAdmissionsAndHealthSaysDraining() throws IOException {
        try (ServerFixture c = new ServerFixture(ServerConfig.defaults(Set.of(ServerFixture.TOKEN)))) {
            assertEquals(200, c.call("GET", CloudServer.HEALTH_PATH, null, null).status());
            ServerFixture.Reply s = c.call("PUT", "/v1/sessions/" + "ab".repeat(16), ServerFixture.TOKEN,
                    "{\"splitLayer\":3,\"codec\":\"fp32\",\"cloudWeights\":\"f32\",\"maxSeqLen\":16,\"temperature\":0,\"topP\":1,\"seed\":1}");
            assertEquals(201, s.status());
            assertEquals(1, c.server.drain(java.time.Duration.ofSeconds(2)));
            ServerFixture.Reply health = c.call("GET", CloudServer.HEALTH_PATH, null, null);
            assertEquals(503, health.status());
            assertEquals("draining", health.body().path("status").asText());
            assertEquals(200, c.call("GET", CloudServer.HEALTH_PATH + "?" + CloudServer.LIVE_QUERY, null, null).status());
            ServerFixture.Reply refused = c.call("PUT", "/v1/sessions/" + "cd".repeat(16), ServerFixture.TOKEN,
                    "{\"splitLayer\":3,\"codec\":\"fp32\",\"cloudWeights\":\"f32\",\"maxSeqLen\":16,\"temperature\":0,\"topP\":1,\"seed\":1}");
            assertEquals(503, refused.status());
            assertEquals("draining", refused.body().path("code").asText());
            assertEquals(0, sessionsOn(c));
            // The refusal closes the connection, so a client's retry does not come back here over a kept-alive one.
            try (java.net.Socket raw = new java.net.Socket("127.0.0.1", c.server.port())) {
                raw.setSoTimeout(5000);
                raw.getOutputStream().write(("POST /v1/sessions/" + "ab".repeat(16) + "/replay HTTP/1.1\r\nHost: x\r\n"
                        + "Authorization: Bearer " + ServerFixture.TOKEN + "\r\nContent-Length: 0\r\n\r\n")
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                String head = new String(raw.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
                assertTrue(head.startsWith("HTTP/1.1 503"), head);
                assertTrue(head.toLowerCase(java.util.Locale.ROOT).contains("connection: close"), head);
            }
        }
    }
}
