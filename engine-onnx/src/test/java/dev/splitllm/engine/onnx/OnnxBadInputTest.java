package dev.splitllm.engine.onnx;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Wrong shapes, capacity overflow and misuse give clear exceptions and leave the stream intact. */
class OnnxBadInputTest {

    private static void assertMessage(Exception e, String part) {
        assertTrue(e.getMessage().contains(part), "message should mention '" + part + "': " + e.getMessage());
    }

    /** stories15M's real weights under another attention rule. */
    private static dev.splitllm.engine.model.ModelWeights withAttention(dev.splitllm.engine.model.RopeScaling scaling, int window) {
        dev.splitllm.engine.model.ModelWeights w = Stories15M.full();
        dev.splitllm.engine.model.LayerWeights[] layers = new dev.splitllm.engine.model.LayerWeights[w.config().nLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = w.layer(l);
        }
        return new dev.splitllm.engine.model.ModelWeights(w.config().withAttention(scaling, window), w.slice(), w.tokenEmbedding(),
                layers, w.rmsFinal(), w.classifier());
    }

    @Test
    void ropeScalingAndSlidingWindowAreRefusedNotIgnored() {
        OnnxOptions cpu = OnnxOptions.defaults().withThreads(1).withProvider(OnnxOptions.Provider.CPU);
        dev.splitllm.engine.model.RopeScaling linear = new dev.splitllm.engine.model.RopeScaling(
                dev.splitllm.engine.model.RopeScaling.Type.LINEAR, 4f, 0, 32f, 1f, 1f, null);
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> OnnxBackend.create(withAttention(linear, 0), cpu)), "does not support RoPE scaling");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> OnnxBackend.create(withAttention(dev.splitllm.engine.model.RopeScaling.NONE, 16), cpu)),
                "does not support sliding-window attention (window 16)");
    }

    @Test
    void wrongTokenCountOrShortHiddenStateIsRejected() {
        try (OnnxSegment seg = Stories15M.onnx().open(0, 2, 16)) {
            float[] h = seg.embed(new int[] {1, 403, 2462});
            assertMessage(assertThrows(IllegalArgumentException.class, () -> seg.forward(h, 0)), "need 0 x 288");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> seg.forward(h, 4)), "need 4 x 288");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> seg.forward(h, -1)), "need -1 x 288");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> seg.forward(null, 1)), "need 1 x 288");
            assertEquals(0, seg.position(), "rejected calls do not advance the stream");
            seg.forward(h, 3);
            assertEquals(3, seg.position());
        }
    }

    @Test
    void capacityOverflowIsRejectedAndTheCacheSurvives() {
        try (OnnxSegment seg = Stories15M.onnx().open(0, 2, 8)) {
            float[] six = seg.embed(new int[] {1, 403, 2462, 263, 931, 29892});
            seg.forward(six, 6);
            float[] keysBefore = seg.keysOf(1);
            float[] three = seg.embed(new int[] {5, 6, 7});
            assertMessage(assertThrows(IllegalArgumentException.class, () -> seg.forward(three, 3)), "context full: 6 + 3 positions exceed capacity 8");
            assertEquals(6, seg.position());
            assertArrayEquals(keysBefore, seg.keysOf(1), "a rejected step leaves the KV cache as it was");
            seg.forward(three, 2);
            assertEquals(8, seg.position());
            assertThrows(IllegalArgumentException.class, () -> seg.forward(three, 1));
        }
    }

    @Test
    void badCapacityRangeAndTokenIdsAreRejected() {
        OnnxBackend b = Stories15M.onnx();
        assertMessage(assertThrows(IllegalArgumentException.class, () -> b.open(0, 2, 0)), "capacity must be in [1, 256]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> b.open(0, 2, 257)), "capacity must be in [1, 256]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> b.open(3, 7, 16)), "invalid layer range [3, 7)");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> b.open(4, 2, 16)), "invalid layer range [4, 2)");
        try (OnnxSegment front = b.open(0, 2, 16)) {
            assertMessage(assertThrows(IllegalArgumentException.class, () -> front.embed(new int[] {1, 32000})), "token id 32000 outside the vocabulary");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> front.embed(new int[] {-1})), "token id -1");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> front.embed(new int[0])), "need 1 to 256 token ids");
            assertMessage(assertThrows(IllegalStateException.class, () -> front.lastLogits(new float[288], 1)), "has no head");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> front.truncate(1)), "cannot truncate a cache of length 0 to 1");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> front.keysOf(2)), "outside the segment");
        }
        try (OnnxSegment back = b.open(4, 6, 16)) {
            assertMessage(assertThrows(IllegalStateException.class, () -> back.embed(new int[] {1})), "has no token embedding");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> back.lastLogits(new float[100], 1)), "need 1 x 288");
        }
    }

    @Test
    void aSliceWithoutALayerCannotOpenIt() throws Exception {
        var cloud = dev.splitllm.engine.model.Llama2cCheckpoint.load(Stories15M.checkpoint(), dev.splitllm.engine.model.ModelSlice.cloud(4, 6));
        try (OnnxBackend b = OnnxBackend.create(cloud, OnnxOptions.defaults().withThreads(1).withProvider(OnnxOptions.Provider.CPU))) {
            assertMessage(assertThrows(IllegalArgumentException.class, () -> b.open(3, 6, 16)), "layer 3 is not held");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> LlamaGraphBuilder.build(cloud, new OnnxGraphSpec(4, 6, true, true))),
                    "token input needs");
        }
    }

    @Test
    void closedSegmentRefusesWork() {
        OnnxSegment seg = Stories15M.onnx().open(0, 1, 4);
        float[] h = seg.embed(new int[] {1});
        seg.close();
        assertMessage(assertThrows(IllegalStateException.class, () -> seg.forward(h, 1)), "segment is closed");
        seg.close(); // idempotent
    }

    @Test
    void cudaOnACpuBuildIsAClearError() {
        if (ai.onnxruntime.OrtEnvironment.getAvailableProviders().contains(ai.onnxruntime.OrtProvider.CUDA)) {
            return; // a CUDA build accepts the request; nothing to check here
        }
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> OnnxBackend.create(Stories15M.full(), OnnxOptions.defaults().withProvider(OnnxOptions.Provider.CUDA))), "CUDA");
        assertThrows(IllegalArgumentException.class, () -> OnnxOptions.defaults().withThreads(0));
    }
}
