package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.quantization.codec.CodecSpec;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * #17: continuous batching changes nothing a session sees. The same sessions (every split 1..5,
 * greedy and seeded sampling, two codecs, prompts of different lengths so prefills and decodes
 * share ticks) run concurrently on a batching server and one by one on an unbatched server, over
 * real sockets with real frames of the real stories15M; every session gets the same tokens.
 */
class BatchingIdentityTest {
    private static final String GREEDY = "\"temperature\":0,\"topP\":1,\"seed\":1";

    private record Spec(int split, String codec, String prompt, String sampling) {}

    private static List<Spec> sessions() {
        String[] prompts = {"Once upon a time", "The dog", "Lily and Ben went to the park and saw a big red ball under a tree",
                "One day", "Tom"};
        List<Spec> out = new ArrayList<>();
        for (int split = 1; split <= 5; split++) {
            String prompt = prompts[split - 1];
            out.add(new Spec(split, "fp32", prompt, GREEDY));
            out.add(new Spec(split, split % 2 == 0 ? "fp16" : "fp32", prompt,
                    "\"temperature\":0.9,\"topP\":0.9,\"seed\":" + (100 + split)));
        }
        return out;
    }

    @Test
    void batchedSessionsGetTheTokensTheyGetOneByOne() throws Exception {
        List<Spec> specs = sessions();
        int n = 24;
        ServerConfig config = ServerConfig.defaults(Set.of(ServerFixture.TOKEN)); // one token: every session on it
        List<int[]> alone = new ArrayList<>();
        try (ServerFixture fx = new ServerFixture(config, null, CloudServer.UNBATCHED)) {
            assertNull(fx.server.batchingStats());
            for (Spec s : specs) alone.add(RawEdge.generate(fx, s.split(), s.codec(), s.prompt(), n, s.sampling()));
        }
        // A small budget (16 rows) so the 17-token prompt is chunked and decodes wait for room.
        try (ServerFixture fx = new ServerFixture(config, null, 16)) {
            ExecutorService pool = Executors.newFixedThreadPool(specs.size());
            try {
                List<Future<int[]>> batched = new ArrayList<>();
                for (Spec s : specs) {
                    batched.add(pool.submit(() -> RawEdge.generate(fx, s.split(), s.codec(), s.prompt(), n, s.sampling())));
                }
                for (int i = 0; i < specs.size(); i++) {
                    assertArrayEquals(alone.get(i), batched.get(i).get(), "session " + specs.get(i));
                }
            } finally {
                pool.shutdownNow();
            }
            long[] stats = fx.server.batchingStats();
            // The sessions really shared ticks: fewer ticks than rows, and some tick held several sessions.
            assertTrue(stats[0] < stats[1] && stats[2] > 1, "ticks/rows/widest " + java.util.Arrays.toString(stats));
        }
    }

    /**
     * A replay (25 positions: chunked, budget 16) on a batching server, while other sessions decode
     * in the same ticks, answers the token an unbatched server answers for the same log.
     */
    @Test
    void replayInTicksAnswersWhatAnUnbatchedReplayAnswers() throws Exception {
        ServerConfig config = ServerConfig.defaults(Set.of(ServerFixture.TOKEN));
        try (ServerFixture plain = new ServerFixture(config, null, CloudServer.UNBATCHED);
             ServerFixture batched = new ServerFixture(config, null, 16)) {
            String id = String.format("%032x", System.nanoTime()).substring(0, 32);
            ServerFixture.Reply c = plain.call("PUT", "/v1/sessions/" + id, ServerFixture.TOKEN, "{\"splitLayer\":2,\"codec\":\"fp32\","
                    + "\"cloudWeights\":\"f32\",\"maxSeqLen\":64,\"temperature\":0.8,\"topP\":0.9,\"seed\":7}");
            assertEquals(201, c.status(), String.valueOf(c.body()));
            List<byte[]> frames = new ArrayList<>();
            try (RawEdge edge = new RawEdge(plain, 2, 64, CodecSpec.parse("fp32"), c.body().path("frameSession").asLong())) {
                frames.add(edge.next(ServerFixture.tokenizer().encode("Once upon a time there was a", true)));
                for (int i = 0; i < 17; i++) frames.add(edge.next(new int[] {200 + i}));
            }
            byte[] body = replayBody(c.body(), frames);
            plain.call("DELETE", "/v1/sessions/" + id, ServerFixture.TOKEN, null);
            ServerFixture.Reply alone = replay(plain, id, body);
            assertEquals(200, alone.status(), String.valueOf(alone.body()));
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                List<Future<int[]>> others = new ArrayList<>();
                for (int split = 1; split <= 3; split++) {
                    int sp = split;
                    others.add(pool.submit(() -> RawEdge.generate(batched, sp, "fp32", "The dog", 24, GREEDY)));
                }
                Thread.sleep(50); // the others are decoding
                ServerFixture.Reply inTicks = replay(batched, id, body);
                assertEquals(200, inTicks.status(), String.valueOf(inTicks.body()));
                assertEquals(alone.body().path("token").asInt(), inTicks.body().path("token").asInt());
                assertEquals(alone.body().path("positions").asInt(), inTicks.body().path("positions").asInt());
                for (Future<int[]> f : others) f.get();
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static byte[] replayBody(JsonNode created, List<byte[]> frames) throws Exception {
        ObjectNode head = ServerFixture.JSON.createObjectNode();
        head.put("splitLayer", 2).put("codec", created.path("codec").asText()).put("cloudWeights", "f32")
                .put("maxSeqLen", created.path("maxSeqLen").asInt()).put("temperature", 0.8f).put("topP", 0.9f).put("seed", 7L)
                .put("frameSession", created.path("frameSession").asLong()).put("epoch", 0L)
                .put("resumeTicket", created.path("resumeTicket").asText()).put("frames", frames.size());
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

    private static ServerFixture.Reply replay(ServerFixture on, String id, byte[] body) throws Exception {
        okhttp3.Request req = new okhttp3.Request.Builder().url(on.baseUrl() + "/v1/sessions/" + id + "/replay")
                .header("Authorization", "Bearer " + ServerFixture.TOKEN)
                .post(okhttp3.RequestBody.create(body, okhttp3.MediaType.get("application/octet-stream"))).build();
        try (okhttp3.Response r = ServerFixture.HTTP.newCall(req).execute()) {
            return new ServerFixture.Reply(r.code(), ServerFixture.JSON.readTree(r.body().string()));
        }
    }

}
