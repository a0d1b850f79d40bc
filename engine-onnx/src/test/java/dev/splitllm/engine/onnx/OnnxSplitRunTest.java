package dev.splitllm.engine.onnx;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.sample.Sampler;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * An edge/cloud split run through the {@code Segment} interface: the Java front half [0, 3)
 * feeding an ORT back half [3, 6) built from a cloud-only slice of the checkpoint generates
 * the same greedy tokens as the same front feeding the Java back half.
 */
class OnnxSplitRunTest {

    @Test
    void onnxBackHalfGivesTheSameGreedyTokens() throws Exception {
        int split = 3, steps = 32;
        ModelWeights edge = Llama2cCheckpoint.load(Stories15M.checkpoint(), ModelSlice.edge(split));
        ModelWeights cloud = Llama2cCheckpoint.load(Stories15M.checkpoint(), ModelSlice.cloud(split, 6));
        int[] prompt = Stories15M.tokenizer().encode("Once upon a time, there was a big red ball", true);
        try (JavaBackend javaEdge = new JavaBackend(edge, KernelProvider.best(), Stories15M.TEAM);
             JavaBackend javaCloud = new JavaBackend(cloud, KernelProvider.best(), Stories15M.TEAM);
             OnnxBackend onnxCloud = OnnxBackend.create(cloud, OnnxOptions.defaults().withThreads(2).withProvider(OnnxOptions.Provider.CPU))) {
            assertEquals("onnxruntime/cpu", onnxCloud.name());
            int[] expected = generate(javaEdge, javaCloud, prompt, steps);
            int[] got = generate(javaEdge, onnxCloud, prompt, steps);
            assertArrayEquals(expected, got, "greedy tokens: java back " + Arrays.toString(expected) + " vs onnx back " + Arrays.toString(got));
            String text = Stories15M.tokenizer().decode(got);
            assertFalse(text.isBlank());
            System.out.println("split run with ORT back half: " + text.replace('\n', ' '));
        }
    }

    private static int[] generate(JavaBackend edgeBackend, dev.splitllm.engine.forward.Backend cloudBackend, int[] prompt, int steps) {
        int[] out = new int[steps];
        try (Segment edge = edgeBackend.open(128); Segment cloud = cloudBackend.open(128)) {
            assertTrue(edge.hasEmbedding() && !edge.hasHead());
            assertTrue(cloud.hasHead() && !cloud.hasEmbedding());
            int[] tokens = prompt;
            for (int i = 0; i < steps; i++) {
                float[] hidden = edge.embed(tokens);
                edge.forward(hidden, tokens.length);
                cloud.forward(hidden, tokens.length);
                int next = Sampler.argmax(cloud.lastLogits(hidden, tokens.length));
                out[i] = next;
                tokens = new int[] {next};
            }
            assertEquals(prompt.length + steps - 1, cloud.position());
        }
        return out;
    }
}
