package dev.splitllm.tools.convert;

import dev.splitllm.engine.gguf.GgufSink;
import dev.splitllm.engine.gguf.GgmlType;
import dev.splitllm.engine.gguf.GgufFile;
import dev.splitllm.engine.gguf.GgufTokenizerLoader;
import dev.splitllm.engine.gguf.GgufValue;
import dev.splitllm.engine.gguf.GgufValueType;
import dev.splitllm.engine.model.RopeScaling;
import dev.splitllm.engine.tensor.MatrixConverter;
import dev.splitllm.engine.tokenizer.ByteLevelMapping;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random-weight GGUF models of a real model's exact shape, for memory and bandwidth figures
 * ({@code convert --synthetic llama-3.2-1b}). They do not speak: every matrix is N(0, 0.02)
 * (the Llama initialisation scale), every norm weight 1.0, from a fixed seed per tensor, so the
 * same arguments always give the same file. What is real is the shape, the tensor names and
 * order, the weight types, and the hyper-parameters, RoPE scaling included.
 *
 * <p>The file is streamed: the header (metadata, tensor infos) is written first, then each
 * matrix is generated, quantized and written {@link #CHUNK_FLOATS} floats at a time, so a 1B
 * model never has more than a few MiB of weights in memory.
 *
 * <p>The tokenizer section is a minimal valid byte-level BPE vocabulary ({@code gpt2} model,
 * {@code llama-bpe} pre-tokenizer): ids 0..255 are the 256 byte tokens, then unused padding
 * tokens up to 128000, then Llama 3's 256 special tokens at their real ids
 * ({@code <|begin_of_text|>} = 128000 is BOS, {@code <|end_of_text|>} = 128001 EOS,
 * {@code <|eot_id|>} = 128009), with no merges: text encodes to byte tokens.
 */
public final class SyntheticLlama {
    /** Floats generated and quantized per write (4 MiB of F32). */
    static final int CHUNK_FLOATS = 1 << 20;
    /** Standard deviation of every matrix. */
    public static final double WEIGHT_STD = 0.02;
    /** The seed the CLI uses. */
    public static final long DEFAULT_SEED = 0x1B5EEDL;

    /**
     * A Llama-architecture shape with Llama 3's RoPE scaling ({@code rope_freqs.weight}).
     *
     * @param context the {@code llama.context_length} written (and so the engine's KV cache size)
     */
    public record Shape(String name, int dim, int layers, int heads, int kvHeads, int ffn, int vocab, int context,
                        double ropeTheta, double ropeFactor, double lowFreqFactor, double highFreqFactor,
                        int originalContext, double normEps, boolean tied) {
        public int headSize() {
            return dim / heads;
        }

        public int kvDim() {
            return kvHeads * headSize();
        }

        /** Parameters of the file (matrices, norms and the rope_freqs factors). */
        public long parameters() {
            long n = 0;
            for (Tensor t : tensors(this, WeightFormat.F32)) n += t.elements();
            return n;
        }
    }

    /**
     * Llama 3.2 1B: dim 2048, 16 layers, 32 heads / 8 KV heads (head size 64), FFN 8192, vocabulary
     * 128256, tied embeddings, RoPE theta 500000 with llama3 scaling (factor 32, low 1, high 4,
     * original context 8192), RMS eps 1e-5. The context written is 2048 (the real model's is
     * 131072; 2048 keeps the engine's F32 KV cache at 128 MiB).
     */
    public static final Shape LLAMA_3_2_1B = new Shape("llama-3.2-1b", 2048, 16, 32, 8, 8192, 128256, 2048,
            500000, 32, 1, 4, 8192, 1e-5, true);

    /** The shapes, by the name the CLI takes. */
    public static final Map<String, Shape> SHAPES = Map.of(LLAMA_3_2_1B.name(), LLAMA_3_2_1B);

    /** Real Llama 3's first special token id. */
    static final int LLAMA3_FIRST_SPECIAL = 128000;

    private SyntheticLlama() {}

    /** The shape called {@code name}; IllegalArgumentException naming the known ones otherwise. */
    public static Shape shape(String name) {
        Shape s = SHAPES.get(name);
        if (s == null) throw new IllegalArgumentException("unknown synthetic model '" + name + "' (known: " + SHAPES.keySet() + ")");
        return s;
    }

    /** One tensor of the file: matrices are Gaussian, norms are ones, rope_freqs the llama3 factors. */
    public record Tensor(String name, long[] shape, GgmlType type, Kind kind) {
        public long elements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public long bytes() {
            return elements() / type.blockSize * type.blockBytes;
        }
    }

    /** How a tensor's values are made. */
    public enum Kind { MATRIX, NORM, ROPE_FREQS }

    /** The tensors in llama.cpp's order, matrices at {@code type}, norms and rope_freqs F32. */
    public static List<Tensor> tensors(Shape s, WeightFormat type) {
        int d = s.dim(), kv = s.kvDim(), h = s.ffn();
        // Rows of d or h weights: a k-quant falls back to Q8_0 where that is not a multiple of 256.
        GgmlType gt = GgmlType.of(type.forRowLength(d)), gtDown = GgmlType.of(type.forRowLength(h));
        List<Tensor> t = new ArrayList<>();
        t.add(new Tensor("token_embd.weight", new long[] {d, s.vocab()}, gt, Kind.MATRIX));
        t.add(new Tensor("output_norm.weight", new long[] {d}, GgmlType.F32, Kind.NORM));
        if (!s.tied()) t.add(new Tensor("output.weight", new long[] {d, s.vocab()}, gt, Kind.MATRIX));
        t.add(new Tensor("rope_freqs.weight", new long[] {s.headSize() / 2}, GgmlType.F32, Kind.ROPE_FREQS));
        for (int l = 0; l < s.layers(); l++) {
            String p = "blk." + l + ".";
            t.add(new Tensor(p + "attn_norm.weight", new long[] {d}, GgmlType.F32, Kind.NORM));
            t.add(new Tensor(p + "attn_q.weight", new long[] {d, d}, gt, Kind.MATRIX));
            t.add(new Tensor(p + "attn_k.weight", new long[] {d, kv}, gt, Kind.MATRIX));
            t.add(new Tensor(p + "attn_v.weight", new long[] {d, kv}, gt, Kind.MATRIX));
            t.add(new Tensor(p + "attn_output.weight", new long[] {d, d}, gt, Kind.MATRIX));
            t.add(new Tensor(p + "ffn_norm.weight", new long[] {d}, GgmlType.F32, Kind.NORM));
            t.add(new Tensor(p + "ffn_gate.weight", new long[] {d, h}, gt, Kind.MATRIX));
            t.add(new Tensor(p + "ffn_down.weight", new long[] {h, d}, gtDown, Kind.MATRIX));
            t.add(new Tensor(p + "ffn_up.weight", new long[] {d, h}, gt, Kind.MATRIX));
        }
        return t;
    }

    /** Bytes of all tensor data (without alignment padding). */
    public static long dataBytes(Shape s, WeightFormat type) {
        long n = 0;
        for (Tensor t : tensors(s, type)) n += t.bytes();
        return n;
    }

    /** The metadata: {@code general.*}, {@code llama.*} and the tokenizer section. */
    public static Map<String, GgufValue> metadata(Shape s, WeightFormat type) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.ofString("llama"));
        m.put("general.name", GgufValue.ofString("splitllm-synthetic-" + s.name()));
        m.put("general.file_type", GgufValue.ofUInt32(GgufModelWriter.fileType(type)));
        m.put("general.quantization_version", GgufValue.ofUInt32(2));
        m.put("llama.context_length", GgufValue.ofUInt32(s.context()));
        m.put("llama.embedding_length", GgufValue.ofUInt32(s.dim()));
        m.put("llama.block_count", GgufValue.ofUInt32(s.layers()));
        m.put("llama.feed_forward_length", GgufValue.ofUInt32(s.ffn()));
        m.put("llama.rope.dimension_count", GgufValue.ofUInt32(s.headSize()));
        m.put("llama.attention.head_count", GgufValue.ofUInt32(s.heads()));
        m.put("llama.attention.head_count_kv", GgufValue.ofUInt32(s.kvHeads()));
        m.put("llama.attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(s.normEps()));
        m.put("llama.rope.freq_base", GgufValue.ofFloat32(s.ropeTheta()));
        m.put("llama.vocab_size", GgufValue.ofUInt32(s.vocab()));
        int n = s.vocab();
        int first = Math.min(LLAMA3_FIRST_SPECIAL, n - 256);
        if (first < 256) throw new IllegalArgumentException(s.name() + ": vocabulary " + n + " is below 512 (256 bytes + 256 specials)");
        String[] tokens = new String[n];
        long[] types = new long[n];
        for (int i = 0; i < n; i++) {
            if (i < 256) {
                tokens[i] = String.valueOf(ByteLevelMapping.charOf(i));
                types[i] = GgufTokenizerLoader.TYPE_NORMAL;
            } else if (i < first) {
                tokens[i] = "<|synthetic_unused_" + i + "|>";
                types[i] = GgufTokenizerLoader.TYPE_UNUSED;
            } else {
                tokens[i] = llama3Special(i - first);
                types[i] = GgufTokenizerLoader.TYPE_CONTROL;
            }
        }
        m.put("tokenizer.ggml.model", GgufValue.ofString("gpt2"));
        m.put("tokenizer.ggml.pre", GgufValue.ofString("llama-bpe"));
        m.put("tokenizer.ggml.tokens", GgufValue.ofStrings(tokens));
        m.put("tokenizer.ggml.merges", GgufValue.ofStrings(new String[0]));
        m.put("tokenizer.ggml.token_type", GgufValue.ofInts(GgufValueType.INT32, types));
        m.put("tokenizer.ggml.bos_token_id", GgufValue.ofUInt32(first));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(first + 1));
        m.put("tokenizer.ggml.eot_token_id", GgufValue.ofUInt32(first + 9));
        m.put("tokenizer.ggml.add_bos_token", GgufValue.ofBool(true));
        return m;
    }

    /** Llama 3's special token {@code k} (0 = begin_of_text ... 255). */
    static String llama3Special(int k) {
        switch (k) {
            case 0: return "<|begin_of_text|>";
            case 1: return "<|end_of_text|>";
            case 2: return "<|reserved_special_token_0|>";
            case 3: return "<|reserved_special_token_1|>";
            case 4: return "<|finetune_right_pad_id|>";
            case 5: return "<|reserved_special_token_2|>";
            case 6: return "<|start_header_id|>";
            case 7: return "<|end_header_id|>";
            case 8: return "<|eom_id|>";
            case 9: return "<|eot_id|>";
            case 10: return "<|python_tag|>";
            default: return "<|reserved_special_token_" + (k - 8) + "|>";
        }
    }

    /** Writes {@code shape} with matrices at {@code type} to {@code out}, streaming; returns the file size. */
    public static long write(Shape s, WeightFormat type, long seed, Path out) throws IOException {
        Map<String, GgufValue> meta = metadata(s, type);
        List<Tensor> tensors = tensors(s, type);
        int alignment = GgufFile.DEFAULT_ALIGNMENT;
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out), 1 << 20)) {
            GgufSink k = new GgufSink(os);
            k.u32(GgufFile.MAGIC);
            k.u32(3);
            k.u64(tensors.size());
            k.u64(meta.size());
            for (Map.Entry<String, GgufValue> e : meta.entrySet()) {
                k.string(e.getKey());
                k.u32(e.getValue().type().id);
                k.value(e.getValue());
            }
            long offset = 0;
            for (Tensor t : tensors) {
                k.string(t.name());
                k.u32(t.shape().length);
                for (long d : t.shape()) k.u64(d);
                k.u32(t.type().id);
                k.u64(offset);
                offset = align(offset + t.bytes(), alignment);
            }
            k.pad(alignment);
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                long before = k.written();
                writeData(s, t, type, seed, i, k);
                if (k.written() - before != t.bytes()) {
                    throw new IllegalStateException(t.name() + ": wrote " + (k.written() - before) + " bytes, expected " + t.bytes());
                }
                k.pad(alignment);
            }
            return k.written();
        }
    }

    /** The data of tensor {@code index} of the file (for tests; the writer streams the same bytes). */
    static byte[] tensorBytes(Shape s, WeightFormat type, long seed, int index) throws IOException {
        Tensor t = tensors(s, type).get(index);
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        writeData(s, t, type, seed, index, new GgufSink(b));
        return b.toByteArray();
    }

    private static void writeData(Shape s, Tensor t, WeightFormat type, long seed, int index, GgufSink k) throws IOException {
        switch (t.kind()) {
            case NORM: {
                float[] ones = new float[Math.toIntExact(t.elements())];
                java.util.Arrays.fill(ones, 1f);
                k.bytes(MatrixBytes.of(ones));
                return;
            }
            case ROPE_FREQS:
                k.bytes(MatrixBytes.of(RopeScaling.llama3Factors(s.ropeTheta(), s.headSize(), s.ropeFactor(),
                        s.lowFreqFactor(), s.highFreqFactor(), s.originalContext())));
                return;
            default:
        }
        int cols = Math.toIntExact(t.shape()[0]);
        int rows = Math.toIntExact(t.shape()[1]);
        int chunkRows = Math.max(1, CHUNK_FLOATS / cols);
        float[] buf = new float[chunkRows * cols];
        // One generator per tensor, from the seed and the tensor's position: the bytes do not depend on chunking.
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        for (int r0 = 0; r0 < rows; r0 += chunkRows) {
            int n = Math.min(chunkRows, rows - r0);
            for (int i = 0, e = n * cols; i < e; i++) buf[i] = (float) (WEIGHT_STD * rnd.nextGaussian());
            k.bytes(MatrixBytes.of(MatrixConverter.fromF32(buf, 0, n, cols, type, t.name())));
        }
    }

    private static long align(long p, int a) {
        return (p + a - 1) / a * a;
    }
}
