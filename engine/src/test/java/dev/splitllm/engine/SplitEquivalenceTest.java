package dev.splitllm.engine;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.sample.Sampler;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Running blocks [0,k) with one state and [k,L) with another, each from its own slice of the
 * checkpoint, gives exactly the logits of the monolithic forward: over a batched prefill and
 * 32 decode steps, for every split k.
 */
class SplitEquivalenceTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5})
    void splitGivesIdenticalLogits(int k) throws Exception {
        Transformer mono = TestModel.transformer();
        ModelWeights edgeWeights = Llama2cCheckpoint.load(TestModel.checkpoint(), ModelSlice.edge(k));
        ModelWeights cloudWeights = Llama2cCheckpoint.load(TestModel.checkpoint(), ModelSlice.cloud(k, 6));
        Transformer edge = new Transformer(edgeWeights, KernelProvider.best(), TestModel.TEAM);
        Transformer cloud = new Transformer(cloudWeights, KernelProvider.best(), TestModel.TEAM);
        assertNull(edgeWeights.classifier(), "edge must not hold the head");
        assertNull(cloudWeights.tokenEmbedding(), "cloud must not hold the embedding");
        assertThrows(IllegalArgumentException.class, () -> edgeWeights.layer(k), "edge must not hold layer " + k);

        SegmentState monoState = mono.newState(256);
        SegmentState edgeState = edge.newState(0, k, 256);
        SegmentState cloudState = cloud.newState(k, 6, 256);
        assertEquals(monoState.kvBytes(), edgeState.kvBytes() + cloudState.kvBytes());

        int[] prompt = TestModel.tokenizer().encode("The little dog ran to the park and", true);
        int[] tokens = prompt;
        for (int step = 0; step <= 32; step++) {
            float[] xm = mono.embed(tokens);
            mono.forward(monoState, xm, tokens.length);
            float[] expected = mono.lastLogits(xm, tokens.length);

            float[] hidden = edge.embed(tokens);
            edge.forward(edgeState, hidden, tokens.length);
            float[] wire = hidden.clone(); // what crosses the link: the hidden state after block k
            cloud.forward(cloudState, wire, tokens.length);
            float[] got = cloud.lastLogits(wire, tokens.length);

            assertArrayEquals(expected, got, "logits differ at step " + step + " for split " + k);
            tokens = new int[] {Sampler.argmax(expected)};
        }
        assertEquals(prompt.length + 32, cloudState.length());
        assertEquals(edgeState.length(), cloudState.length());
    }
}
