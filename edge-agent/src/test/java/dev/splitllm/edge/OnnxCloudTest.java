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
        }
    }
}
