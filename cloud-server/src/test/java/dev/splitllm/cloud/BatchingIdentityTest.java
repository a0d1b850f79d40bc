package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
