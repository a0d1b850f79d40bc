package dev.splitllm.engine.onnx;

import static org.junit.jupiter.api.Assertions.*;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.onnx.proto.Onnx;
import dev.splitllm.engine.sample.Sampler;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The graph's declared interface and weights, and the one-graph variant: token ids in, logits out. */
class OnnxGraphTest {

    @Test
    void graphDeclaresItsInterfaceAndStoresWeightsLittleEndian() {
        ModelWeights w = Stories15M.full();
        Onnx.ModelProto m = LlamaGraphBuilder.build(w, OnnxGraphSpec.blocks(2, 4));
        assertEquals(8, m.getIrVersion());
        assertEquals(17, m.getOpsetImport(0).getVersion());
        List<String> inputs = m.getGraph().getInputList().stream().map(Onnx.ValueInfoProto::getName).collect(Collectors.toList());
        List<String> outputs = m.getGraph().getOutputList().stream().map(Onnx.ValueInfoProto::getName).collect(Collectors.toList());
        assertEquals(List.of("hidden", "positions", "past_key_2", "past_value_2", "past_key_3", "past_value_3"), inputs);
        assertEquals(List.of("present_key_2", "present_value_2", "present_key_3", "present_value_3", "hidden_out"), outputs);
        Onnx.TensorProto qkv = m.getGraph().getInitializerList().stream().filter(t -> t.getName().equals("l3_wqkv")).findFirst().orElseThrow();
        assertEquals(List.of(288L + 2 * 288, 288L), qkv.getDimsList());
        FloatBuffer raw = ByteBuffer.wrap(qkv.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] row = new float[288];
        w.layer(3).wq().readRow(17, row, 0);
        for (int i = 0; i < 288; i++) {
            assertEquals(row[i], raw.get(17 * 288 + i), "wq[17][" + i + "]");
        }
        w.layer(3).wv().readRow(5, row, 0);
        for (int i = 0; i < 288; i++) {
            assertEquals(row[i], raw.get((2 * 288 + 5) * 288 + i), "wv[5][" + i + "]");
        }
        assertThrows(IllegalArgumentException.class, () -> LlamaGraphBuilder.build(w, OnnxGraphSpec.blocks(5, 7)));
        assertThrows(IllegalArgumentException.class, () -> new OnnxGraphSpec(3, 3, false, false));
    }

    /** The whole model as one graph (Gather embedding, 6 blocks, head) gives the Java engine's logits. */
    @Test
    void fullGraphFromTokensMatchesJavaLogits() throws Exception {
        Transformer java = Stories15M.java();
        SegmentState state = java.newState(32);
        OnnxBackend backend = Stories15M.onnx();
        int kvDim = java.config().kvDim();
        try (OrtSession full = backend.newSession(new OnnxGraphSpec(0, 6, true, true))) {
            int[] tokens = Stories15M.tokenizer().encode("The cat sat", true);
            Map<String, OnnxTensor> past = new HashMap<>();
            OrtSession.Result previous = null;
            for (int l = 0; l < 6; l++) {
                past.put(OnnxGraphSpec.pastKey(l), OnnxTensor.createTensor(backend.env(), FloatBuffer.allocate(0), new long[] {0, kvDim}));
                past.put(OnnxGraphSpec.pastValue(l), OnnxTensor.createTensor(backend.env(), FloatBuffer.allocate(0), new long[] {0, kvDim}));
            }
            int pos = 0;
            for (int step = 0; step < 6; step++) {
                float[] x = java.embed(tokens);
                java.forward(state, x, tokens.length);
                float[] expected = java.lastLogits(x, tokens.length);

                long[] ids = new long[tokens.length];
                long[] positions = new long[tokens.length];
                for (int t = 0; t < tokens.length; t++) {
                    ids[t] = tokens[t];
                    positions[t] = pos + t;
                }
                Map<String, OnnxTensor> in = new HashMap<>(past);
                OnnxTensor idsT = OnnxTensor.createTensor(backend.env(), LongBuffer.wrap(ids), new long[] {ids.length});
                OnnxTensor posT = OnnxTensor.createTensor(backend.env(), LongBuffer.wrap(positions), new long[] {ids.length});
                in.put(OnnxGraphSpec.TOKENS, idsT);
                in.put(OnnxGraphSpec.POSITIONS, posT);
                OrtSession.Result r = full.run(in);
                idsT.close();
                posT.close();
                float[] got = new float[expected.length];
                ((OnnxTensor) r.get(OnnxGraphSpec.LOGITS).orElseThrow()).getFloatBuffer().get(got);
                float diff = Stories15M.maxAbsDiff(expected, got, got.length);
                assertTrue(diff <= OnnxEquivalenceTest.TOL, "full-graph logits differ by " + diff + " at step " + step);
                for (int l = 0; l < 6; l++) {
                    past.put(OnnxGraphSpec.pastKey(l), (OnnxTensor) r.get(OnnxGraphSpec.presentKey(l)).orElseThrow());
                    past.put(OnnxGraphSpec.pastValue(l), (OnnxTensor) r.get(OnnxGraphSpec.presentValue(l)).orElseThrow());
                }
                if (previous != null) {
                    previous.close();
                }
                previous = r;
                pos += tokens.length;
                tokens = new int[] {Sampler.argmax(expected)};
            }
            previous.close();
        }
    }

    /** Truncating drops positions exactly: recomputing them gives the same hidden states. */
    @Test
    void truncateThenRecomputeGivesTheSameRows() {
        try (OnnxSegment seg = Stories15M.onnx().open(0, 3, 32)) {
            int[] tokens = Stories15M.tokenizer().encode("A bird flew over the old tree", true);
            float[] all = seg.embed(tokens);
            int n = tokens.length, keep = n - 3, d = 288;
            seg.forward(all, n);
            float[] keysBefore = seg.keysOf(2);
            seg.truncate(keep);
            assertEquals(keep, seg.position());
            float[] tail = seg.embed(java.util.Arrays.copyOfRange(tokens, keep, n));
            seg.forward(tail, n - keep);
            assertEquals(n, seg.position());
            float diff = Stories15M.maxAbsDiff(java.util.Arrays.copyOfRange(all, keep * d, n * d), tail, (n - keep) * d);
            assertTrue(diff <= 1e-5f, "recomputed rows differ by " + diff);
            assertTrue(Stories15M.maxAbsDiff(keysBefore, seg.keysOf(2), keysBefore.length) <= 1e-5f);
        }
    }
}
