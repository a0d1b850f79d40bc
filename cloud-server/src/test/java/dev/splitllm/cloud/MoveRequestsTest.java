package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.kv.KvDeltaCodec;
import dev.splitllm.quantization.kv.KvSpec;
import java.nio.ByteBuffer;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /v1/sessions/{id}/move} on a real server (issue 14): every bad move (a split outside
 * the model, a stale epoch, a step or position count that is not the session's, KV frames with the
 * wrong layers, positions, head shape, epoch, session or CRC) is refused with a clear error and
 * leaves the session exactly where it was, so it then generates the plain run's tokens; after a
 * good move, frames of the old epoch are refused.
 */
class MoveRequestsTest {
    static final String PROMPT = "Once upon a time";
    static final int SPLIT = 3;
    static final int KV_DIM = 288;

    record Answer(int status, JsonNode head, byte[] kv) {
    }

    static Answer move(ServerFixture fx, String id, String json, byte[] kv) throws Exception {
        try (Response r = fx.postEnvelope("/v1/sessions/" + id + "/move", json, kv)) {
            byte[] bytes = r.body().bytes();
            if (r.code() != 200) return new Answer(r.code(), ServerFixture.JSON.readTree(bytes), null);
            ByteBuffer in = ByteBuffer.wrap(bytes);
            byte[] h = new byte[in.getInt()];
            in.get(h);
            byte[] rest = new byte[in.remaining()];
            in.get(rest);
            return new Answer(200, ServerFixture.JSON.readTree(h), rest);
        }
    }

    static String head(int from, int to, long epoch, long step, int positions, String down) {
        return "{\"fromSplit\":" + from + ",\"toSplit\":" + to + ",\"epoch\":" + epoch + ",\"step\":" + step + ",\"positions\":"
                + positions + ",\"kv\":\"fp32\"" + (down == null ? "" : ",\"down\":\"" + down + "\"") + "}";
    }

    static void refused(Answer a, int status, String code, String words) {
        assertEquals(status, a.status(), a.head().toString());
        assertEquals(code, a.head().path("error").path("code").asText(a.head().path("code").asText()), a.head().toString());
        assertTrue(a.head().toString().contains(words), a.head() + " should say " + words);
    }

    static JsonNode answer(RawStream ws) throws Exception {
        return ServerFixture.JSON.readTree(ws.next());
    }

    @Test
    void badMovesChangeNothingAndFramesOfAnOldEpochAreRefused() throws Exception {
        try (ServerFixture fx = new ServerFixture()) {
            int[] plain = RawEdge.generate(fx, SPLIT, "fp32", PROMPT, 8, "\"temperature\":0,\"topP\":1,\"seed\":1");
            ServerFixture.Reply created = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, "{\"splitLayer\":" + SPLIT
                    + ",\"codec\":\"fp32\",\"cloudWeights\":\"f32\",\"maxSeqLen\":64,\"temperature\":0,\"topP\":1,\"seed\":1}");
            assertEquals(201, created.status());
            String id = created.body().path("sessionId").asText();
            long tag = created.body().path("frameSession").asLong();
            try (RawEdge edge = new RawEdge(fx, SPLIT, 64, CodecSpec.parse("fp32"), tag);
                 RawStream ws = new RawStream(ServerFixture.HTTP, fx.wsUrl(created.body().path("streamPath").asText()), ServerFixture.TOKEN)) {
                int[] prompt = ServerFixture.tokenizer().encode(PROMPT, true);
                ws.send(edge.next(prompt));
                assertEquals(plain[0], answer(ws).path("token").asInt());
                ws.send(edge.next(new int[] {plain[0]}));
                assertEquals(plain[1], answer(ws).path("token").asInt());
                int p = edge.front.position();
                float[][][] kv = edge.front.exportKv(1, SPLIT, p); // what a move 3 -> 1 sends up
                byte[] good = KvDeltaCodec.encode(KvSpec.FP32, tag, 0, 1, 0, p, KV_DIM, kv[0], kv[1]);

                refused(move(fx, id, head(3, 6, 0, 2, p, null), good), 400, "bad_move", "outside the model");
                refused(move(fx, id, head(3, 1, 4, 2, p, null), good), 409, "stale_epoch", "epoch 4");
                refused(move(fx, id, head(3, 1, 0, 5, p, null), good), 409, "bad_step", "next step is 2");
                refused(move(fx, id, head(3, 1, 0, 2, p + 3, null), good), 400, "bad_move", "holds " + p);
                refused(move(fx, id, head(2, 1, 0, 2, p, null), good), 400, "bad_move", "cut is 3");
                refused(move(fx, id, head(3, 1, 0, 2, p, null), null), 400, "bad_move", "carries the KV");
                refused(move(fx, id, head(3, 5, 0, 2, p, "sideways"), null), 400, "bad_move", "down=transfer or down=recompute");
                float[][][] two = edge.front.exportKv(2, SPLIT, p);
                refused(move(fx, id, head(3, 1, 0, 2, p, null), KvDeltaCodec.encode(KvSpec.FP32, tag, 0, 2, 0, p, KV_DIM, two[0], two[1])),
                        400, "bad_kv", "layers [2, 3)");
                refused(move(fx, id, head(3, 1, 0, 2, p, null), KvDeltaCodec.encode(KvSpec.FP32, tag, 0, 1, 0, p - 1, KV_DIM, kv[0], kv[1])),
                        400, "bad_kv", "needs [0, " + p + ")");
                refused(move(fx, id, head(3, 1, 0, 2, p, null), KvDeltaCodec.encode(KvSpec.FP32, tag, 0, 1, 62, p, KV_DIM, kv[0], kv[1])),
                        400, "bad_kv", "beyond the session");
                refused(move(fx, id, head(3, 1, 0, 2, p, null), KvDeltaCodec.encode(KvSpec.FP32, tag, 0, 1, 0, p, KV_DIM / 2, kv[0], kv[1])),
                        400, "bad_kv", "kvDim");
                refused(move(fx, id, head(3, 1, 0, 2, p, null), KvDeltaCodec.encode(KvSpec.FP32, tag, 3, 1, 0, p, KV_DIM, kv[0], kv[1])),
                        400, "bad_kv", "epoch 3");
                refused(move(fx, id, head(3, 1, 0, 2, p, null), KvDeltaCodec.encode(KvSpec.FP32, tag + 1, 0, 1, 0, p, KV_DIM, kv[0], kv[1])),
                        400, "bad_kv", "another session");
                byte[] corrupt = good.clone();
                corrupt[100] ^= 1;
                refused(move(fx, id, head(3, 1, 0, 2, p, null), corrupt), 400, "bad_kv", "CRC");

                // Nothing changed: the session goes on at split 3 and gives the plain run's tokens.
                ws.send(edge.next(new int[] {plain[1]}));
                assertEquals(plain[2], answer(ws).path("token").asInt());
                JsonNode status = fx.call("GET", "/v1/sessions/" + id, ServerFixture.TOKEN, null).body();
                assertEquals(SPLIT, status.path("splitLayer").asInt());

                // A good move toward the edge (3 -> 5, KV sent down), then the old cut's frames are refused.
                p = edge.front.position();
                Answer moved = move(fx, id, head(3, 5, 0, 3, p, "transfer"), null);
                assertEquals(200, moved.status(), moved.head().toString());
                assertEquals(1, moved.head().path("epoch").asLong());
                assertEquals(5, moved.head().path("splitLayer").asInt());
                assertEquals(52 + 8L * 2 * p * KV_DIM, moved.kv().length);
                Answer again = move(fx, id, head(3, 5, 0, 3, p, "transfer"), null); // a lost answer asked again: the same
                assertEquals(200, again.status());
                assertArrayEquals(moved.kv(), again.kv());
                ws.send(edge.next(new int[] {plain[2]})); // still at split 3: the old epoch
                JsonNode stale = answer(ws);
                assertEquals("stale_epoch", stale.path("code").asText(), stale.toString());
                assertTrue(stale.path("message").asText().contains("moved to split 5"), stale.toString());
                assertEquals(5, fx.call("GET", "/v1/sessions/" + id, ServerFixture.TOKEN, null).body().path("splitLayer").asInt());
            } finally {
                fx.call("DELETE", "/v1/sessions/" + id, ServerFixture.TOKEN, null);
            }
        }
    }
}
