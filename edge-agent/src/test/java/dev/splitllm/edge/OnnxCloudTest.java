package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.engine.onnx.OnnxBackend;
import dev.splitllm.engine.onnx.OnnxOptions;
import dev.splitllm.engine.sample.Sampler;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The cloud half on ONNX Runtime, the edge half on the Java engine, over a real socket. */
class OnnxCloudTest {

    @Test
    void onnxBackHalfGivesTheSameGreedyTokensAsTheJavaBackHalf() {
        ServerConfig config = ServerConfig.defaults(Set.of(Fixture.TOKEN));
        try (Fixture fx = new Fixture(config, w -> OnnxBackend.create(w, OnnxOptions.defaults().withThreads(1)))) {
            int[] expected = fx.monolithic("Once upon a time", 32, Sampler.greedy());
            assertArrayEquals(expected, SplitRuntimeTestSupport.run(fx, 3, fx.options(), "Once upon a time", 32));
            // #13: speculation on the ONNX back half: its forwardAsSteps (one row at a time) and its
            // truncate roll the rejected drafts back; the tokens stay the unsplit model's.
            try (dev.splitllm.engine.draft.ModelDrafter drafter = dev.splitllm.engine.draft.ModelDrafter.open(Fixture.checkpoint(),
                    dev.splitllm.quantization.weights.WeightFormat.Q4_0, 128, 1);
                 EdgeModel edge = fx.edge(3);
                 EdgeSession s = EdgeSession.open(edge, fx.options(), Speculation.with(drafter, 4))) {
                GenerationResult r = s.generate("Once upon a time", 32, (id, text, st) -> { });
                assertArrayEquals(expected, r.tokens());
                org.junit.jupiter.api.Assertions.assertTrue(r.accepted() > 0 && r.accepted() < r.drafted(),
                        "some drafts kept, some rolled back: " + r.accepted() + "/" + r.drafted());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }
}
