package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.kv.KvDeltaCodec;
import dev.splitllm.quantization.kv.KvSpec;
import java.util.ArrayList;
import java.util.List;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

/**
 * Mirror frames, hand-off and restore on a real server with a raw client (issue 14): a mirror frame
 * that does not follow what the mirror holds, or names the wrong layers, is refused with
 * {@code bad_mirror} and the session goes on; a hand-off with a wrong epoch, a token budget out of
 * range, a prompt that does not make the session's positions or a mirror count the cloud does not
 * hold is refused and changes nothing; a good hand-off counting on the mirror streams the plain
 * run's tokens; a restore hands them all back with a new epoch, and the old cut's frames are refused.
 */
class HandOffRequestsTest {
    static final String PROMPT = "Once upon a time";
    static final int SPLIT = 3;
    static final int KV_DIM = 288;

    record Answer(int status, List<JsonNode> lines) {
    }

    static Answer handOff(ServerFixture fx, String id, String json, byte[] kv) throws Exception {
        try (Response r = fx.postEnvelope("/v1/sessions/" + id + "/handoff", json, kv)) {
            List<JsonNode> lines = new ArrayList<>();
            for (String line : r.body().string().split("\n")) if (!line.isBlank()) lines.add(ServerFixture.JSON.readTree(line));
            return new Answer(r.code(), lines);
        }
    }

    static String head(long epoch, long step, int positions, int mirrored, int maxTokens, String prompt) {
        return "{\"fromSplit\":" + SPLIT + ",\"epoch\":" + epoch + ",\"step\":" + step + ",\"positions\":" + positions
                + ",\"mirrored\":" + mirrored + ",\"kv\":\"fp32\",\"maxTokens\":" + maxTokens + ",\"ignoreEos\":true,\"prompt\":"
                + prompt + "}";
    }

    static void refused(Answer a, int status, String code, String words) {
        assertEquals(status, a.status(), a.lines().toString());
        JsonNode e = a.lines().get(0);
        assertEquals(code, e.path("error").path("code").asText(e.path("code").asText()), e.toString());
        assertTrue(e.toString().contains(words), e + " should say " + words);
    }

    @Test
    void badMirrorFramesAndHandOffsAreRefusedAndAGoodOneStreamsThePlainTokens() throws Exception {
        try (ServerFixture fx = new ServerFixture()) {
            int[] plain = RawEdge.generate(fx, SPLIT, "fp32", PROMPT, 12, "\"temperature\":0,\"topP\":1,\"seed\":1");
            ServerFixture.Reply created = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, "{\"splitLayer\":" + SPLIT
                    + ",\"codec\":\"fp32\",\"cloudWeights\":\"f32\",\"maxSeqLen\":64,\"temperature\":0,\"topP\":1,\"seed\":1}");
            String id = created.body().path("sessionId").asText();
            long tag = created.body().path("frameSession").asLong();
            int[] prompt = ServerFixture.tokenizer().encode(PROMPT, true);
            try (RawEdge edge = new RawEdge(fx, SPLIT, 64, CodecSpec.parse("fp32"), tag);
                 RawStream ws = new RawStream(ServerFixture.HTTP, fx.wsUrl(created.body().path("streamPath").asText()), ServerFixture.TOKEN)) {
                ws.send(edge.next(prompt));
                assertEquals(plain[0], ServerFixture.JSON.readTree(ws.next()).path("token").asInt());
                int mirrored = edge.front.position(); // the prompt's positions
                float[][][] kv = edge.front.exportKv(0, SPLIT, mirrored);
                // Refused mirror frames: layers [1, 3) instead of [0, 3); a start past what the mirror holds.
                float[][][] two = edge.front.exportKv(1, SPLIT, mirrored);
                ws.send(KvDeltaCodec.encode(KvSpec.FP32, tag, 0, 1, 0, mirrored, KV_DIM, two[0], two[1]));
                JsonNode bad = ServerFixture.JSON.readTree(ws.next());
                assertEquals("bad_mirror", bad.path("code").asText(), bad.toString());
                assertTrue(bad.path("message").asText().contains("layers [1, 3)"), bad.toString());
                ws.send(KvDeltaCodec.encode(KvSpec.FP32, tag, 0, 0, 2, mirrored - 2, KV_DIM, cut(kv[0], 2), cut(kv[1], 2)));
                assertTrue(ServerFixture.JSON.readTree(ws.next()).path("message").asText().contains("the mirror holds [0, 0)"));
                // A good mirror frame gets no answer: the next message is the next step's token.
                ws.send(KvDeltaCodec.encode(KvSpec.FP32, tag, 0, 0, 0, mirrored, KV_DIM, kv[0], kv[1]));
                for (int i = 1; i < 4; i++) {
                    ws.send(edge.next(new int[] {plain[i - 1]}));
                    assertEquals(plain[i], ServerFixture.JSON.readTree(ws.next()).path("token").asInt());
                }
                JsonNode status = fx.call("GET", "/v1/sessions/" + id, ServerFixture.TOKEN, null).body();
                assertEquals(mirrored, status.path("mirrored").asInt(), status.toString());
                int p = edge.front.position();
                float[][][] all = edge.front.exportKv(0, SPLIT, p);
                byte[] tail = KvDeltaCodec.encode(KvSpec.FP32, tag, 0, 0, mirrored, p - mirrored, KV_DIM, cut(all[0], mirrored),
                        cut(all[1], mirrored));
                String ids = java.util.Arrays.toString(prompt).replace(" ", "");

                refused(handOff(fx, id, head(7, 4, p, mirrored, 8, ids), tail), 409, "stale_epoch", "epoch 7");
                refused(handOff(fx, id, head(0, 4, p, mirrored, 0, ids), tail), 400, "bad_move", "maxTokens 0");
                refused(handOff(fx, id, head(0, 4, p, mirrored, 8, "[1,2]"), tail), 400, "bad_move", "do not make the session's");
                refused(handOff(fx, id, head(0, 4, p, mirrored - 1, 8, ids), tail), 400, "bad_mirror", "mirror here holds " + mirrored);
                refused(handOff(fx, id, head(0, 4, p, mirrored, 8, ids), null), 400, "bad_move", "carries the KV");
                assertEquals(SPLIT, fx.call("GET", "/v1/sessions/" + id, ServerFixture.TOKEN, null).body().path("splitLayer").asInt());

                // The good hand-off: the mirror's positions plus the tail; the cloud makes the next 8 tokens alone.
                Answer a = handOff(fx, id, head(0, 4, p, mirrored, 8, ids), tail);
                assertEquals(200, a.status(), a.lines().toString());
                assertEquals("handed_off", a.lines().get(0).path("type").asText());
                assertEquals(mirrored, a.lines().get(0).path("mirrored").asInt());
                for (int i = 0; i < 8; i++) {
                    JsonNode t = a.lines().get(1 + i);
                    assertEquals(4 + i, t.path("index").asInt(), t.toString());
                    assertEquals(plain[4 + i], t.path("token").asInt(), "cloud token " + (4 + i));
                }
                assertEquals("max_tokens", a.lines().get(9).path("stop").asText(), a.lines().get(9).toString());
                assertEquals(12, a.lines().get(9).path("tokens").asInt());

                // Following the stream later gives the same tokens; a restore hands everything back.
                ServerFixture.Reply follow = fx.call("GET", "/v1/sessions/" + id + "/tokens?from=10", ServerFixture.TOKEN, null);
                assertEquals(200, follow.status());
                ServerFixture.Reply restored = fx.call("POST", "/v1/sessions/" + id + "/restore", ServerFixture.TOKEN, null);
                assertEquals(200, restored.status(), String.valueOf(restored.body()));
                JsonNode r = restored.body();
                assertEquals(0, r.path("session").path("splitLayer").asInt());
                assertEquals(prompt.length + 11, r.path("positions").asInt());
                assertEquals(12, r.path("tokens").size());
                for (int i = 0; i < 12; i++) assertEquals(plain[i], r.path("tokens").get(i).asInt());
                assertEquals(prompt.length, r.path("prompt").size());
                assertTrue(r.path("session").path("epoch").asLong() >= 3, r.toString()); // the hand-off's move, then the restore's two
                assertEquals(404, fx.call("POST", "/v1/sessions/0123456789abcdef0123456789abcdef/restore", ServerFixture.TOKEN, null).status());
            }
        }
    }

    /** Rows [from, end) of each layer's flat rows. */
    static float[][] cut(float[][] rows, int from) {
        float[][] out = new float[rows.length][];
        for (int l = 0; l < rows.length; l++) out[l] = java.util.Arrays.copyOfRange(rows[l], from * KV_DIM, rows[l].length);
        return out;
    }
}
