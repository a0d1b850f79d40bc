package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.FrameCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The edge and the cloud over a real loopback socket, on the real model and codec. */
class SplitRuntimeTest {
    static Fixture fx;

    @BeforeAll
    static void start() {
        fx = new Fixture();
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    static int[] run(int split, EdgeOptions options, String prompt, int n) {
        return SplitRuntimeTestSupport.run(fx, split, options, prompt, n);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5})
    void losslessGreedyIsTokenIdenticalToMonolithic(int split) {
        int[] expected = fx.monolithic("Once upon a time", 40, Sampler.greedy());
        assertArrayEquals(expected, run(split, fx.options(), "Once upon a time", 40));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 5})
    void losslessSeededSamplingIsTokenIdenticalToMonolithic(int split) {
        int[] expected = fx.monolithic("The cat", 40, new Sampler(0.9f, 0.9f, 1234));
        assertArrayEquals(expected, run(split, fx.options().withSampling(0.9f, 0.9f, 1234), "The cat", 40));
    }

    @Test
    void streamedTextContinuesThePromptExactly() {
        try (EdgeModel edge = fx.edge(2); EdgeSession s = EdgeSession.open(edge, fx.options())) {
            StringBuilder streamed = new StringBuilder();
            GenerationResult r = s.generate("The little dragon", 12, (id, text, stats) -> streamed.append(text));
            int[] all = java.util.Arrays.copyOf(r.promptTokens(), r.promptTokens().length + r.tokens().length);
            System.arraycopy(r.tokens(), 0, all, r.promptTokens().length, r.tokens().length);
            // The first generated piece keeps its leading space: it follows the prompt, not BOS.
            assertEquals(fx.tokenizer.decode(all), "The little dragon" + streamed);
            assertEquals(streamed.toString(), r.text());
        }
    }

    @Test
    void fp16CodecMatchesMonolithicGreedy() {
        int[] expected = fx.monolithic("Once upon a time", 30, Sampler.greedy());
        int[] got = run(3, fx.options().withCodec(CodecSpec.parse("fp16")), "Once upon a time", 30);
        assertArrayEquals(expected, got, "fp16 at the cut should not change 30 greedy tokens of stories15M");
    }

    /**
     * The server says it takes compact frames, so every frame after the first is its payload plus
     * the 15-17 bytes of a compact header (a full version-1 frame would add 68).
     */
    @Test
    void framesAreCompactWhenTheServerTakesThem() {
        try (EdgeModel edge = fx.edge(3); EdgeSession s = EdgeSession.open(edge, fx.options().withCodec(CodecSpec.parse("fp16")))) {
            GenerationResult r = s.generate("Once upon a time", 20, TokenListener.NONE);
            int prompt = r.promptTokens().length;
            assertEquals(2L * 288 * prompt + FrameCodec.compactOverheadBytes(0, 3, 0, prompt, -1), r.steps().get(0).bytesUp(),
                    "the prefill frame");
            for (StepStats st : r.steps().subList(1, r.steps().size())) {
                int position = (int) (prompt + st.step() - 1);
                assertEquals(2 * 288 + FrameCodec.compactOverheadBytes(st.step(), 3, position, 1, -1), st.bytesUp(), "step " + st.step());
            }
            assertTrue(r.steps().size() >= 10, r.steps().size() + " steps");
        }
    }

    @Test
    void tabqGeneratesAndReportsAgreement() {
        String prompt = "Once upon a time";
        int[] expected = fx.monolithic(prompt, 48, Sampler.greedy());
        CodecSpec codec = CodecSpec.parse("tabq:eps=1e-3,bits=2/3/4/6/8");
        try (EdgeModel edge = fx.edge(3); EdgeSession s = EdgeSession.open(edge, fx.options().withCodec(codec))) {
            GenerationResult r = s.generate(prompt, 48, TokenListener.NONE);
            int prefix = 0;
            while (prefix < Math.min(expected.length, r.tokens().length) && expected[prefix] == r.tokens()[prefix]) prefix++;
            long fp16Bytes = 2L * 288 * (r.promptTokens().length + r.tokens().length - 1);
            System.out.printf("tabq split 3: %d/%d greedy tokens match the unsplit model before diverging; %d bytes up vs %d fp16 payload%n",
                    prefix, expected.length, r.bytesUp(), fp16Bytes);
            assertTrue(r.tokens().length > 0);
            assertTrue(r.bytesUp() < fp16Bytes, "TAB-Q frames must be smaller than fp16 payloads");
            assertTrue(prefix >= 8, "TAB-Q at eps 1e-3 should keep at least the first 8 greedy tokens, kept " + prefix);
        }
    }

    @Test
    void eightConcurrentSessionsMatchSequentialRuns() throws Exception {
        String[] prompts = {"Once upon a time", "The dog", "Lily and Ben", "A big red ball", "The sun was", "Tom had a",
                "In the park", "One day"};
        List<int[]> sequential = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            sequential.add(run(1 + i % 5, fx.options().withSampling(0.8f, 0.95f, 100 + i), prompts[i], 24));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<int[]>> futures = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                int k = i;
                futures.add(pool.submit((Callable<int[]>) () ->
                        run(1 + k % 5, fx.options().withSampling(0.8f, 0.95f, 100 + k), prompts[k], 24)));
            }
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(sequential.get(i), futures.get(i).get(), "session " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void reconnectResumesWithoutLostOrDuplicatedTokens() {
        int[] expected = fx.monolithic("Once upon a time", 30, Sampler.greedy());
        try (EdgeModel edge = fx.edge(2); EdgeSession s = EdgeSession.open(edge, fx.options())) {
            List<Integer> seen = new ArrayList<>();
            int[] reconnects = {0};
            GenerationResult r = s.generate("Once upon a time", 30, (id, text, stats) -> {
                seen.add(id);
                reconnects[0] += stats.reconnects();
                if (seen.size() == 5 || seen.size() == 17) {
                    s.dropConnection(); // the link dies between steps
                }
            });
            assertArrayEquals(expected, r.tokens());
            assertEquals(expected.length, seen.size());
            assertTrue(reconnects[0] >= 2, "expected the two drops to force reconnects, saw " + reconnects[0]);
        }
    }

    @Test
    void answerLostInFlightIsReplayedNotRecomputed() throws Exception {
        int[] expected = fx.monolithic("Once upon a time", 30, new Sampler(1.0f, 0.9f, 77));
        try (TcpProxy proxy = new TcpProxy(fx.server.port());
             EdgeModel edge = fx.edge(3);
             EdgeSession s = EdgeSession.open(edge, withServer(fx.options().withSampling(1.0f, 0.9f, 77),
                     java.net.URI.create("http://127.0.0.1:" + proxy.port())))) {
            List<Integer> seen = new ArrayList<>();
            GenerationResult r = s.generate("Once upon a time", 30, (id, text, stats) -> {
                seen.add(id);
                if (seen.size() == 4 || seen.size() == 11 || seen.size() == 12) {
                    // The cloud will process the next frame, but its answer dies on the way back.
                    proxy.armDropOnNextDownstream();
                }
            });
            // A recomputed step would have drawn a second random number and changed the stream.
            assertArrayEquals(expected, r.tokens());
            assertEquals(3, proxy.drops.get());
            assertTrue(proxy.connections.get() >= 4, "expected reconnects through the proxy");
        }
    }

    static EdgeOptions withServer(EdgeOptions o, java.net.URI server) {
        return new EdgeOptions(server, o.token(), o.codec(), o.cloudWeights(), o.maxSeqLen(), o.temperature(), o.topP(),
                o.seed(), o.stepTimeout(), o.maxReconnects());
    }
}
