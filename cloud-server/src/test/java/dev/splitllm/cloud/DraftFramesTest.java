package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.Crc32c;
import dev.splitllm.quantization.wire.Draft;
import dev.splitllm.quantization.wire.FrameCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DRAFT frames on a real server: the cloud keeps exactly the drafts the plain steps would have
 * produced, answers a resent draft identically, and refuses every bad draft with a clear error
 * and no change of state, after which the session goes on as if it had never been sent.
 */
class DraftFramesTest {
    static final String PROMPT = "Once upon a time";
    static final int SPLIT = 2;

    @ParameterizedTest(name = "token budget {0}")
    @ValueSource(ints = {CloudServer.UNBATCHED, 64})
    void draftsAreVerifiedExactlyAndBadDraftsChangeNothing(int tokenBudget) throws Exception {
        try (ServerFixture fx = new ServerFixture(ServerConfig.defaults(java.util.Set.of(ServerFixture.TOKEN)), null, tokenBudget)) {
            int[] plain = RawEdge.generate(fx, SPLIT, "fp32", PROMPT, 8, "\"temperature\":0,\"topP\":1,\"seed\":1");
            ServerFixture.Reply created = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, "{\"splitLayer\":" + SPLIT
                    + ",\"codec\":\"fp32\",\"cloudWeights\":\"f32\",\"maxSeqLen\":64,\"temperature\":0,\"topP\":1,\"seed\":1}");
            assertEquals(201, created.status());
            assertEquals(CloudSession.MAX_DRAFT, created.body().path("maxDraft").asInt());
            try (RawEdge edge = new RawEdge(fx, SPLIT, 64, CodecSpec.parse("fp32"), created.body().path("frameSession").asLong());
                 RawStream ws = new RawStream(ServerFixture.HTTP, fx.wsUrl(created.body().path("streamPath").asText()), ServerFixture.TOKEN)) {
                int[] prompt = ServerFixture.tokenizer().encode(PROMPT, true);
                ws.send(edge.next(prompt));
                assertEquals(plain[0], answer(ws).path("token").asInt());
                int p = prompt.length; // the position of plain[0]

                // Refused drafts first: each leaves the session where it was.
                refused(ws, edge.draft(1, new int[] {plain[0], plain[1], plain[2]}, Draft.greedy(new int[] {plain[1], 40000})),
                        "bad_draft", "vocabulary");
                edge.rollback(p, 1);
                int[] nine = new int[CloudSession.MAX_DRAFT + 1];
                int[] ten = new int[nine.length + 1];
                ten[0] = plain[0];
                refused(ws, edge.draft(1, ten, Draft.greedy(nine)), "bad_draft", "limit of " + CloudSession.MAX_DRAFT);
                edge.rollback(p, 1);
                refused(ws, edge.draft(1, new int[] {plain[0], plain[1]}, Draft.sampled(new int[] {plain[1]}, new int[][] {{plain[1]}},
                        new float[][] {{1f}})), "bad_draft", "greedy session");
                edge.rollback(p, 1);
                byte[] good = edge.draft(1, new int[] {plain[0], plain[1], plain[2]}, Draft.greedy(new int[] {plain[1], 7}));
                int draftBlock = FrameCodec.CHANNELS_OFFSET + 4;
                refused(ws, withCrc(good, draftBlock, (byte) 1), "bad_frame", "must carry 2 drafted tokens"); // k vs rows
                refused(ws, withCrc(good, 28, (byte) (p - 1)), "bad_frame", "starts at position"); // before the session's position
                refused(ws, withCrc(good, 16, (byte) 3), "bad_step", "expected step 1");

                // The good draft: plain[1] kept, 7 rejected, plain[2] is the next token; the KV of 7 is gone.
                ws.send(good);
                JsonNode a = answer(ws);
                assertEquals(1, a.path("accepted").asInt(), a.toString());
                assertEquals(plain[2], a.path("token").asInt());
                ws.send(good); // a resend: the same answer, nothing recomputed
                JsonNode again = answer(ws);
                assertEquals(a.path("token").asInt(), again.path("token").asInt());
                assertEquals(1, again.path("accepted").asInt());
                edge.rollback(p + 2, 2);

                // All drafts kept: plain[3], plain[4] and the bonus plain[5].
                ws.send(edge.draft(2, new int[] {plain[2], plain[3], plain[4]}, Draft.greedy(new int[] {plain[3], plain[4]})));
                JsonNode b = answer(ws);
                assertEquals(2, b.path("accepted").asInt());
                assertEquals(plain[5], b.path("token").asInt());
                edge.rollback(p + 5, 3);
                ws.send(edge.next(new int[] {plain[5]})); // a plain step after drafts
                assertEquals(plain[6], answer(ws).path("token").asInt());
            }
        }
    }

    /** A draft wider than the scheduler's smallest token budget (8 rows) is verified outside the ticks, with the same result. */
    @Test
    void aDraftWiderThanTheTickIsStillVerified() throws Exception {
        try (ServerFixture fx = new ServerFixture(ServerConfig.defaults(java.util.Set.of(ServerFixture.TOKEN)), null, 8)) {
            int[] plain = RawEdge.generate(fx, SPLIT, "fp32", PROMPT, 11, "\"temperature\":0,\"topP\":1,\"seed\":1");
            ServerFixture.Reply created = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, "{\"splitLayer\":" + SPLIT
                    + ",\"codec\":\"fp32\",\"cloudWeights\":\"f32\",\"maxSeqLen\":64,\"temperature\":0,\"topP\":1,\"seed\":1}");
            try (RawEdge edge = new RawEdge(fx, SPLIT, 64, CodecSpec.parse("fp32"), created.body().path("frameSession").asLong());
                 RawStream ws = new RawStream(ServerFixture.HTTP, fx.wsUrl(created.body().path("streamPath").asText()), ServerFixture.TOKEN)) {
                ws.send(edge.next(ServerFixture.tokenizer().encode(PROMPT, true)));
                assertEquals(plain[0], answer(ws).path("token").asInt());
                int k = CloudSession.MAX_DRAFT; // k + 1 = 9 rows > the budget of 8
                ws.send(edge.draft(1, java.util.Arrays.copyOf(plain, k + 1), Draft.greedy(java.util.Arrays.copyOfRange(plain, 1, k + 1))));
                JsonNode a = answer(ws);
                assertEquals(k, a.path("accepted").asInt(), a.toString());
                assertEquals(plain[k + 1], a.path("token").asInt());
            }
        }
    }

    @Test
    void aSamplingSessionNeedsProposals() throws Exception {
        try (ServerFixture fx = new ServerFixture()) {
            ServerFixture.Reply created = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, "{\"splitLayer\":" + SPLIT
                    + ",\"codec\":\"fp16\",\"cloudWeights\":\"f32\",\"maxSeqLen\":64,\"temperature\":0.8,\"topP\":1,\"seed\":1}");
            try (RawEdge edge = new RawEdge(fx, SPLIT, 64, CodecSpec.parse("fp16"), created.body().path("frameSession").asLong());
                 RawStream ws = new RawStream(ServerFixture.HTTP, fx.wsUrl(created.body().path("streamPath").asText()), ServerFixture.TOKEN)) {
                ws.send(edge.next(ServerFixture.tokenizer().encode(PROMPT, true)));
                int t = answer(ws).path("token").asInt();
                int p = edge.front.position();
                refused(ws, edge.draft(1, new int[] {t, 5}, Draft.greedy(new int[] {5})), "bad_draft", "proposals");
                edge.rollback(p, 1);
                ws.send(edge.draft(1, new int[] {t, 5}, Draft.sampled(new int[] {5}, new int[][] {{5, 6}}, new float[][] {{.6f, .4f}})));
                JsonNode a = answer(ws);
                assertEquals("token", a.path("type").asText(), a.toString());
                assertTrue(a.path("accepted").asInt() <= 1);
            }
        }
    }

    private static JsonNode answer(RawStream ws) throws Exception {
        JsonNode m = ServerFixture.JSON.readTree(ws.next());
        assertEquals("token", m.path("type").asText(), m.toString());
        return m;
    }

    private static void refused(RawStream ws, byte[] frame, String code, String why) throws Exception {
        ws.send(frame);
        JsonNode m = ServerFixture.JSON.readTree(ws.next());
        assertEquals("error", m.path("type").asText(), m.toString());
        assertEquals(code, m.path("code").asText(), m.toString());
        assertTrue(m.path("message").asText().contains(why), m.toString());
        assertFalse(m.path("fatal").asBoolean());
    }

    private static byte[] withCrc(byte[] frame, int at, byte value) {
        byte[] b = frame.clone();
        b[at] = value;
        int crc = Crc32c.compute(b, 0, b.length - 4);
        for (int i = 0; i < 4; i++) b[b.length - 4 + i] = (byte) (crc >>> (8 * i));
        return b;
    }
}
