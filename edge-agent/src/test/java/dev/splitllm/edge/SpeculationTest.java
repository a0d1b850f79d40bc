package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.draft.DraftPolicy;
import dev.splitllm.engine.draft.Drafter;
import dev.splitllm.engine.draft.ModelDrafter;
import dev.splitllm.engine.draft.NgramDrafter;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Speculation across the cut over a real loopback socket on the real model: every drafter, k and
 * split gives exactly the plain split's tokens (greedy, same codec), and the lossless split with
 * speculation gives the unsplit model's tokens.
 */
class SpeculationTest {
    static Fixture fx;
    static ModelDrafter draftModel;
    static final String PROMPT = "Tom had a red ball. Tom liked the red ball. One day Tom";
    static final int N = 40;
    static final CodecSpec LOSSY = CodecSpec.parse("tabq:eps=1e-3");

    @BeforeAll
    static void start() {
        fx = new Fixture();
        try {
            draftModel = ModelDrafter.open(Fixture.checkpoint(), WeightFormat.Q4_0, 128, 1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    static void stop() {
        draftModel.close();
        fx.close();
    }

    static GenerationResult run(int split, EdgeOptions options, Speculation spec) {
        try (EdgeModel edge = fx.edge(split); EdgeSession s = EdgeSession.open(edge, options, spec)) {
            return s.generate(PROMPT, N, true, (id, text, stats) -> { });
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5})
    void everyDrafterAndKGivesThePlainSplitsTokens(int split) {
        EdgeOptions o = fx.options().withCodec(LOSSY);
        int[] plain = run(split, o, Speculation.none()).tokens();
        for (Drafter d : new Drafter[] {new NgramDrafter(), draftModel}) {
            for (int k : new int[] {1, 3, DraftPolicy.AUTO}) {
                GenerationResult r = run(split, o, Speculation.with(d, k));
                assertArrayEquals(plain, r.tokens(), d.name() + " k=" + k + " split " + split);
                assertTrue(r.steps().size() <= plain.length, "never more round trips than tokens");
                if (d == draftModel) {
                    assertTrue(r.accepted() > 0, "the Q4_0 copy of the model agrees with it often: " + r.accepted() + "/" + r.drafted());
                    assertTrue(r.steps().size() < N, d.name() + " k=" + k + ": " + r.steps().size() + " round trips for " + N + " tokens");
                }
            }
        }
    }

    @Test
    void losslessSpeculationGivesTheUnsplitModelsTokens() {
        int[] expected = fx.monolithic(PROMPT, N, Sampler.greedy());
        GenerationResult r = run(3, fx.options(), Speculation.with(draftModel, 4));
        assertArrayEquals(expected, r.tokens());
        assertTrue(r.tokensPerRoundTrip() > 1.5, "tokens per round trip " + r.tokensPerRoundTrip());
    }

    @Test
    void samplingSessionsSpeculateAndStayInTheVocabulary() {
        EdgeOptions o = fx.options().withSampling(0.8f, 0.95f, 77);
        GenerationResult r = run(3, o, Speculation.with(draftModel, 4));
        assertEquals(N, r.tokens().length);
        assertTrue(r.drafted() > 0 && r.accepted() > 0, r.accepted() + "/" + r.drafted());
        for (int t : r.tokens()) assertTrue(t >= 0 && t < 32000);
        // Reproducible: the same seed gives the same stream.
        assertArrayEquals(r.tokens(), run(3, o, Speculation.with(draftModel, 4)).tokens());
    }

    @Test
    void stopsAtMaxTokensExactlyEvenWhenADraftOvershoots() {
        EdgeOptions o = fx.options();
        int[] plain;
        try (EdgeModel edge = fx.edge(2); EdgeSession s = EdgeSession.open(edge, o)) {
            plain = s.generate(PROMPT, 7, true, (id, text, stats) -> { }).tokens();
        }
        try (EdgeModel edge = fx.edge(2); EdgeSession s = EdgeSession.open(edge, o, Speculation.with(draftModel, 8))) {
            assertArrayEquals(plain, s.generate(PROMPT, 7, true, (id, text, stats) -> { }).tokens());
        }
    }
}
