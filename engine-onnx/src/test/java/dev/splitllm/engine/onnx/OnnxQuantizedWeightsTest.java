package dev.splitllm.engine.onnx;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tensor.Q8_0Matrix;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.Half;
import dev.splitllm.engine.tensor.Q4_0Matrix;
import dev.splitllm.engine.onnx.LlamaGraphBuilder.QuantizedWeights;
import dev.splitllm.engine.onnx.proto.Onnx;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Quantized weights in ORT, dequantized to float32 or kept as MatMulNBits blocks: a back
 * segment whose block matrices are Q8_0 or Q4_0 gives the Java engine's (quantized-kernel)
 * hidden states and logits within 1e-4.
 */
class OnnxQuantizedWeightsTest {

    @ParameterizedTest
    @CsvSource({"Q8_0, DEQUANTIZE", "Q8_0, MATMUL_NBITS", "Q4_0, DEQUANTIZE", "Q4_0, MATMUL_NBITS"})
    void quantizedBackSegmentMatchesJavaEngine(String format, QuantizedWeights mode) {
        boolean q4 = format.equals("Q4_0");
        ModelWeights f32 = Stories15M.full();
        int first = 4;
        LayerWeights[] layers = new LayerWeights[6];
        for (int l = first; l < 6; l++) {
            LayerWeights w = f32.layer(l);
            layers[l] = q4
                    ? new LayerWeights(w.rmsAtt(), q4(w.wq()), q4(w.wk()), q4(w.wv()), q4(w.wo()), w.rmsFfn(), q4(w.w1()), q4(w.w2()), q4(w.w3()))
                    : new LayerWeights(w.rmsAtt(), q8(w.wq()), q8(w.wk()), q8(w.wv()), q8(w.wo()), w.rmsFfn(), q8(w.w1()), q8(w.w2()), q8(w.w3()));
        }
        ModelWeights q = new ModelWeights(f32.config(), ModelSlice.cloud(first, 6), null, layers, f32.rmsFinal(), f32.classifier());
        Transformer java = new Transformer(q, KernelProvider.best(), Stories15M.TEAM);
        SegmentState state = java.newState(first, 6, 32);
        int d = f32.config().dim();
        Transformer embedder = Stories15M.java();
        Onnx.ModelProto graph = LlamaGraphBuilder.build(q, OnnxGraphSpec.blocks(first, 6), mode);
        long nbits = graph.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("MatMulNBits")).count();
        assertEquals(mode == QuantizedWeights.MATMUL_NBITS ? 8 : 0, nbits, "MatMulNBits nodes (qkv, wo, w13, w2 per block)");
        try (OnnxBackend backend = OnnxBackend.create(q, OnnxOptions.defaults().withThreads(2).withProvider(OnnxOptions.Provider.CPU)
                .withQuantizedWeights(mode));
             OnnxSegment seg = backend.open(first, 6, 32)) {
            int[] tokens = Stories15M.tokenizer().encode("The sun was warm", true);
            for (int step = 0; step < 8; step++) {
                float[] jh = embedder.embed(tokens);
                float[] oh = jh.clone();
                java.forward(state, jh, tokens.length);
                seg.forward(oh, tokens.length);
                float hd = Stories15M.maxAbsDiff(jh, oh, tokens.length * d);
                float[] jl = java.lastLogits(jh, tokens.length);
                float ld = Stories15M.maxAbsDiff(jl, seg.lastLogits(oh, tokens.length), jl.length);
                assertTrue(hd <= OnnxEquivalenceTest.TOL && ld <= OnnxEquivalenceTest.TOL,
                        format + "/" + mode + " step " + step + ": hidden diff " + hd + ", logit diff " + ld);
                tokens = new int[] {dev.splitllm.engine.sample.Sampler.argmax(jl)};
            }
        }
    }

    /** llama.cpp Q4_0: per 32 weights an fp16 scale d = max/-8 (signed max magnitude) and nibbles q with w = (q - 8) d. */
    static Q4_0Matrix q4(WeightMatrix m) {
        int rows = m.rows(), cols = m.cols(), rowBytes = cols / 32 * 18;
        byte[] data = new byte[rows * rowBytes];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.readRow(r, row, 0);
            for (int b = 0; b < cols; b += 32) {
                float max = 0;
                for (int j = 0; j < 32; j++) {
                    if (Math.abs(row[b + j]) > Math.abs(max)) max = row[b + j];
                }
                short h = Half.fromFloat(max / -8f);
                float scale = Half.toFloat(h);
                int p = r * rowBytes + b / 32 * 18;
                data[p] = (byte) h;
                data[p + 1] = (byte) (h >> 8);
                for (int j = 0; j < 16; j++) {
                    int lo = scale == 0 ? 8 : Math.max(0, Math.min(15, Math.round(row[b + j] / scale) + 8));
                    int hi = scale == 0 ? 8 : Math.max(0, Math.min(15, Math.round(row[b + j + 16] / scale) + 8));
                    data[p + 2 + j] = (byte) (lo | (hi << 4));
                }
            }
        }
        return new Q4_0Matrix(data, rows, cols);
    }

    /** llama.cpp Q8_0: per 32 weights an fp16 scale amax/127 and 32 rounded signed bytes. */
    static Q8_0Matrix q8(WeightMatrix m) {
        int rows = m.rows(), cols = m.cols(), rowBytes = cols / 32 * 34;
        byte[] data = new byte[rows * rowBytes];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.readRow(r, row, 0);
            for (int b = 0; b < cols; b += 32) {
                float amax = 0;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(row[b + j]));
                }
                short h = Half.fromFloat(amax / 127f);
                float scale = Half.toFloat(h);
                int p = r * rowBytes + b / 32 * 34;
                data[p] = (byte) h;
                data[p + 1] = (byte) (h >> 8);
                for (int j = 0; j < 32; j++) {
                    data[p + 2 + j] = (byte) (scale == 0 ? 0 : Math.max(-127, Math.min(127, Math.round(row[b + j] / scale))));
                }
            }
        }
        return new Q8_0Matrix(data, rows, cols);
    }
}
