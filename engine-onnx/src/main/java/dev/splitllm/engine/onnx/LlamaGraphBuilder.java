package dev.splitllm.engine.onnx;

import static dev.splitllm.engine.onnx.OnnxGraph.FLOAT;
import static dev.splitllm.engine.onnx.OnnxGraph.INT64;
import static dev.splitllm.engine.onnx.OnnxGraph.UINT8;
import static dev.splitllm.engine.onnx.OnnxGraph.attr;
import static dev.splitllm.engine.onnx.OnnxGraph.attrInts;

import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.onnx.proto.Onnx;
import dev.splitllm.engine.tensor.WeightMatrix;
import java.util.List;

/**
 * Builds the ONNX graph (opset 17, IR 8) of a Llama layer range from loaded
 * {@link ModelWeights}, following the Java engine's math ({@code engine.forward.Transformer}):
 * RMSNorm with the config's epsilon; projections as {@code Gemm} with {@code transB=1} on the
 * engine's [out x in] matrices (Q, K, V stacked into one [dim + 2 kvDim, dim] initializer, the
 * SwiGLU gate w1 and up w3 into one [2 hidden, dim]); RoPE on consecutive pairs (i, i+1) of
 * each head with cos/sin tables gathered by position (llama2.c convention, not rotate-half);
 * causal softmax attention over the past and new keys (key j is visible to a row at position
 * p iff j &le; p) with grouped-query heads; SwiGLU {@code silu(w1 x) * (w3 x)} then w2.
 * Inputs and outputs are named by {@link OnnxGraphSpec}.
 *
 * <p>Weights become float32 initializers (quantized formats are dequantized, see
 * {@link WeightExport}), except that with {@link QuantizedWeights#MATMUL_NBITS} block
 * matrices stored as Q4_0 or Q8_0 stay quantized and run through ONNX Runtime's
 * {@code com.microsoft.MatMulNBits} (see {@link NBitsWeights}); the embedding and classifier
 * are always float32. The whole model must stay under protobuf's 2 GiB message limit.
 */
public final class LlamaGraphBuilder {

    /** How quantized block matrices enter the graph. */
    public enum QuantizedWeights {
        /** Dequantized to float32 initializers; standard ONNX operators only (default). */
        DEQUANTIZE,
        /** Q4_0 / Q8_0 kept as 4 / 8-bit blocks for ONNX Runtime's MatMulNBits (fp32 compute); other formats dequantized. */
        MATMUL_NBITS
    }

    /** Largest serialized model accepted (protobuf messages and Java arrays stop at 2 GiB). */
    public static final long MAX_MODEL_BYTES = Integer.MAX_VALUE - (64L << 20);

    private final ModelWeights weights;
    private final LlamaConfig config;
    private final OnnxGraphSpec spec;
    private final QuantizedWeights quantized;
    private final OnnxGraph g;
    // Shared within one graph.
    private String cos;
    private String sin;
    private String visible;

    private LlamaGraphBuilder(ModelWeights weights, OnnxGraphSpec spec, QuantizedWeights quantized) {
        this.weights = weights;
        this.config = weights.config();
        this.spec = spec;
        this.quantized = quantized;
        this.g = new OnnxGraph("splitllm_" + spec.firstLayer() + "_" + spec.endLayer());
    }

    /** The ONNX model for {@code spec} over {@code weights}; throws if the weights lack a part it needs. */
    public static Onnx.ModelProto build(ModelWeights weights, OnnxGraphSpec spec) {
        return build(weights, spec, QuantizedWeights.DEQUANTIZE);
    }

    /** Like {@link #build(ModelWeights, OnnxGraphSpec)}, choosing how quantized block matrices are stored. */
    public static Onnx.ModelProto build(ModelWeights weights, OnnxGraphSpec spec, QuantizedWeights quantized) {
        if (quantized == null) {
            throw new IllegalArgumentException("quantized-weights mode must not be null");
        }
        check(weights, spec);
        return new LlamaGraphBuilder(weights, spec, quantized).build();
    }

    /** Bytes of float32 initializers a graph for {@code spec} would hold (to check limits before building). */
    public static long estimateBytes(ModelWeights weights, OnnxGraphSpec spec) {
        LlamaConfig c = weights.config();
        long total = 0;
        if (spec.tokenInput()) total += 4L * c.vocabSize() * c.dim();
        total += 4L * spec.layerCount() * c.blockParameters();
        if (spec.layerCount() > 0) total += 4L * 2 * c.seqLen() * (c.headSize() / 2);
        if (spec.head()) total += 4L * c.dim() + 4L * c.vocabSize() * c.dim();
        return total;
    }

    private static void check(ModelWeights weights, OnnxGraphSpec spec) {
        LlamaConfig c = weights.config();
        if (spec.endLayer() > c.nLayers()) {
            throw new IllegalArgumentException("layer range [" + spec.firstLayer() + ", " + spec.endLayer() + ") exceeds the model's " + c.nLayers() + " layers");
        }
        for (int l = spec.firstLayer(); l < spec.endLayer(); l++) {
            weights.layer(l); // throws when the slice does not hold it
        }
        if (spec.tokenInput() && (spec.firstLayer() != 0 || weights.tokenEmbedding() == null)) {
            throw new IllegalArgumentException("token input needs a graph starting at block 0 and weights with the token embedding");
        }
        if (spec.head() && (spec.endLayer() != c.nLayers() || weights.classifier() == null)) {
            throw new IllegalArgumentException("the head needs a graph ending at block " + c.nLayers() + " and weights with the classifier");
        }
        long bytes = estimateBytes(weights, spec);
        if (bytes > MAX_MODEL_BYTES) {
            throw new IllegalArgumentException("graph for " + spec + " needs " + bytes + " bytes of float32 weights, over the "
                    + MAX_MODEL_BYTES + "-byte limit of an in-memory ONNX model (external data is not supported)");
        }
    }

    private Onnx.ModelProto build() {
        int d = config.dim();
        String x;
        if (spec.tokenInput()) {
            g.input(OnnxGraphSpec.TOKENS, INT64, "T");
            String table = matrix("embedding", weights.tokenEmbedding());
            x = g.op("Gather", List.of(table, OnnxGraphSpec.TOKENS), attr("axis", 0L));
        } else {
            g.input(OnnxGraphSpec.HIDDEN, FLOAT, "T", (long) d);
            x = OnnxGraphSpec.HIDDEN;
        }
        if (spec.layerCount() > 0) {
            g.input(OnnxGraphSpec.POSITIONS, INT64, "T");
            ropeAndMaskInputs();
            for (int l = spec.firstLayer(); l < spec.endLayer(); l++) {
                x = block(l, weights.layer(l), x);
            }
        }
        if (spec.head()) {
            String last = g.op("Slice", List.of(x, g.longs(-1), g.longs(Long.MAX_VALUE), g.longs(0)));
            String normed = rmsnorm(last, vector("rms_final", weights.rmsFinal()));
            WeightMatrix cls = weights.classifier();
            String w = cls == weights.tokenEmbedding() && spec.tokenInput() ? "embedding" : matrix("classifier", cls);
            g.node("Gemm", List.of(normed, w), List.of(OnnxGraphSpec.LOGITS), attr("transB", 1L));
            g.output(OnnxGraphSpec.LOGITS, FLOAT, 1L, (long) config.vocabSize());
        } else {
            g.node("Identity", List.of(x), List.of(OnnxGraphSpec.HIDDEN_OUT));
            g.output(OnnxGraphSpec.HIDDEN_OUT, FLOAT, "T", (long) d);
        }
        return g.model("splitllm Llama blocks [" + spec.firstLayer() + ", " + spec.endLayer() + ")"
                + (spec.tokenInput() ? " from token ids" : " from hidden states")
                + (spec.head() ? " to last-row logits" : " to hidden states"));
    }

    /** cos/sin rows for the T positions, [T, 1, half, 1]; and the causal visibility [T, past + T]. */
    private void ropeAndMaskInputs() {
        int seq = config.seqLen();
        RopeTables rope = new RopeTables(config, seq);
        long half = rope.half;
        String cosTable = g.floats("rope_cos", new long[] {seq, half}, rope.cos, 0);
        String sinTable = g.floats("rope_sin", new long[] {seq, half}, rope.sin, 0);
        String shape = g.longs(-1, 1, half, 1);
        cos = g.op("Reshape", List.of(g.op("Gather", List.of(cosTable, OnnxGraphSpec.POSITIONS), attr("axis", 0L)), shape));
        sin = g.op("Reshape", List.of(g.op("Gather", List.of(sinTable, OnnxGraphSpec.POSITIONS), attr("axis", 0L)), shape));

        // Total keys S = past + T; key j is visible to a row at position p iff j <= p.
        String past = g.op("Shape", List.of(OnnxGraphSpec.pastKey(spec.firstLayer())), attr("start", 0L), attr("end", 1L));
        String t = g.op("Shape", List.of(OnnxGraphSpec.POSITIONS), attr("start", 0L), attr("end", 1L));
        String total = g.op("Squeeze", List.of(g.op("Add", List.of(past, t)), g.longs(0)));
        String keys = g.op("Range", List.of(g.scalarLong(0), total, g.scalarLong(1)));
        String rows = g.op("Unsqueeze", List.of(OnnxGraphSpec.POSITIONS, g.longs(1)));
        visible = g.op("LessOrEqual", List.of(keys, rows)); // [T, S]
    }

    private String block(int l, LayerWeights w, String x) {
        int d = config.dim(), kvDim = config.kvDim();
        g.input(OnnxGraphSpec.pastKey(l), FLOAT, "past", (long) kvDim);
        g.input(OnnxGraphSpec.pastValue(l), FLOAT, "past", (long) kvDim);
        String p = "l" + l + "_";
        // Attention.
        // Q, K and V come out of one Gemm over the stacked [wq; wk; wv]; RoPE then rotates the
        // q and k columns together (the pairs and angles only depend on the index within a head).
        String xn = rmsnorm(x, vector(p + "rms_att", w.rmsAtt()));
        String qkv = linear(xn, p + "wqkv", w.wq(), w.wk(), w.wv());
        String[] qkAndV = g.ops("Split", 2, List.of(qkv, g.longs(d + kvDim, kvDim)), attr("axis", 1L));
        String[] qk = g.ops("Split", 2, List.of(rope(qkAndV[0], d + kvDim), g.longs(d, kvDim)), attr("axis", 1L));
        String q = qk[0], k = qk[1], v = qkAndV[1];
        String keys = OnnxGraphSpec.presentKey(l), values = OnnxGraphSpec.presentValue(l);
        g.node("Concat", List.of(OnnxGraphSpec.pastKey(l), k), List.of(keys), attr("axis", 0L));
        g.node("Concat", List.of(OnnxGraphSpec.pastValue(l), v), List.of(values), attr("axis", 0L));
        g.output(keys, FLOAT, "present", (long) kvDim);
        g.output(values, FLOAT, "present", (long) kvDim);
        String att = attention(q, keys, values);
        x = g.op("Add", List.of(x, linear(att, p + "wo", w.wo())));
        // SwiGLU feed-forward.
        xn = rmsnorm(x, vector(p + "rms_ffn", w.rmsFfn()));
        String gateUp = linear(xn, p + "w13", w.w1(), w.w3());
        String[] gu = g.ops("Split", 2, List.of(gateUp), attr("axis", 1L));
        String gate = gu[0], up = gu[1];
        String silu = g.op("Mul", List.of(gate, g.op("Sigmoid", List.of(gate))));
        String h = g.op("Mul", List.of(silu, up));
        return g.op("Add", List.of(x, linear(h, p + "w2", w.w2())));
    }

    /** Scaled dot-product attention of q [T, dim] over keys/values [S, kvDim], query head h reading kv head h / group. */
    private String attention(String q, String keys, String values) {
        long kvHeads = config.nKvHeads(), group = config.kvGroup(), hs = config.headSize();
        // q: [T, kvHeads, group, hs] -> [kvHeads, group, T, hs]
        String qh = g.op("Transpose", List.of(g.op("Reshape", List.of(q, g.longs(-1, kvHeads, group, hs)))), attrInts("perm", 1, 2, 0, 3));
        // keys: [S, kvHeads, 1, hs] -> [kvHeads, 1, hs, S]; values -> [kvHeads, 1, S, hs]
        String kv4 = g.longs(-1, kvHeads, 1, hs);
        String kh = g.op("Transpose", List.of(g.op("Reshape", List.of(keys, kv4))), attrInts("perm", 1, 2, 3, 0));
        String vh = g.op("Transpose", List.of(g.op("Reshape", List.of(values, kv4))), attrInts("perm", 1, 2, 0, 3));
        String scores = g.op("Mul", List.of(g.op("MatMul", List.of(qh, kh)), g.scalarFloat((float) (1.0 / Math.sqrt(hs)))));
        String masked = g.op("Where", List.of(visible, scores, g.scalarFloat(Float.NEGATIVE_INFINITY)));
        String probs = g.op("Softmax", List.of(masked), attr("axis", -1L));
        String out = g.op("MatMul", List.of(probs, vh)); // [kvHeads, group, T, hs]
        String rows = g.op("Transpose", List.of(out), attrInts("perm", 2, 0, 1, 3));
        return g.op("Reshape", List.of(rows, g.longs(-1, config.dim())));
    }

    /** Rotates consecutive pairs of every head of x [T, width] by the position's angles. */
    private String rope(String x, int width) {
        long heads = width / config.headSize(), half = config.headSize() / 2;
        String pairs = g.op("Reshape", List.of(x, g.longs(-1, heads, half, 2)));
        String[] parts = g.ops("Split", 2, List.of(pairs), attr("axis", 3L));
        String a = parts[0], b = parts[1];
        String ra = g.op("Sub", List.of(g.op("Mul", List.of(a, cos)), g.op("Mul", List.of(b, sin))));
        String rb = g.op("Add", List.of(g.op("Mul", List.of(a, sin)), g.op("Mul", List.of(b, cos))));
        String joined = g.op("Concat", List.of(ra, rb), attr("axis", 3L));
        return g.op("Reshape", List.of(joined, g.longs(-1, width)));
    }

    private String rmsnorm(String x, String weight) {
        // Pow/ReduceMean/Add/Sqrt/Div/Mul: the pattern ONNX Runtime fuses into SimplifiedLayerNormalization.
        String meanSquare = g.op("ReduceMean", List.of(g.op("Pow", List.of(x, g.scalarFloat(2f)))), attrInts("axes", -1), attr("keepdims", 1L));
        String rms = g.op("Sqrt", List.of(g.op("Add", List.of(meanSquare, g.scalarFloat(config.normEps())))));
        return g.op("Mul", List.of(g.op("Div", List.of(x, rms)), weight));
    }

    /** x [T, in] times W^T for W = the parts stacked by rows, each stored [out x in]. */
    private String linear(String x, String name, WeightMatrix... parts) {
        if (quantized == QuantizedWeights.MATMUL_NBITS && NBitsWeights.supports(parts)) {
            NBitsWeights q = NBitsWeights.of(parts);
            String b = g.raw(name + "_q" + q.bits, new long[] {q.rows, q.blocksPerRow(), q.blobBytes()}, UINT8, q.blobs);
            String scales = g.floats(name + "_scales", new long[] {q.scales.length}, q.scales, 0);
            return g.msOp("MatMulNBits", List.of(x, b, scales), attr("K", (long) q.cols), attr("N", (long) q.rows),
                    attr("bits", (long) q.bits), attr("block_size", (long) NBitsWeights.BLOCK));
        }
        String w = parts.length == 1 ? matrix(name, parts[0]) : stacked(name, parts);
        return g.op("Gemm", List.of(x, w), attr("transB", 1L));
    }

    private String matrix(String name, WeightMatrix m) {
        return g.raw(name, new long[] {m.rows(), m.cols()}, FLOAT, WeightExport.matrix(m));
    }

    /** Row-wise stack of matrices with equal column counts, one [sum(rows) x cols] initializer. */
    private String stacked(String name, WeightMatrix... parts) {
        long rows = 0;
        for (WeightMatrix m : parts) {
            rows += m.rows();
        }
        return g.raw(name, new long[] {rows, parts[0].cols()}, FLOAT, WeightExport.stacked(parts));
    }

    private String vector(String name, float[] v) {
        return g.floats(name, new long[] {v.length}, v, 0);
    }
}
