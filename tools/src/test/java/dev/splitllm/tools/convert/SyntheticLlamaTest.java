package dev.splitllm.tools.convert;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.gguf.GgmlType;
import dev.splitllm.engine.gguf.GgufValue;
import dev.splitllm.engine.gguf.GgufWriter;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.LoadedModel;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.RopeScaling;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link SyntheticLlama}: the streamed writer on a scaled-down Llama 3 shape (byte-identical to
 * {@link GgufWriter}, loaded and run by the engine), and the real Llama 3.2 1B spec checked
 * without writing it.
 */
class SyntheticLlamaTest {
    @TempDir
    Path tmp;

    /** Llama 3.2 1B scaled down: GQA 4/2, head size 32, tied, llama3 RoPE scaling, 600-token vocabulary. */
    static final SyntheticLlama.Shape SMALL = new SyntheticLlama.Shape("tiny-llama3", 128, 2, 4, 2, 256, 600, 64,
            500000, 32, 1, 4, 64, 1e-5, true);

    @Test
    void streamedFileIsByteIdenticalToGgufWriter() throws Exception {
        Path streamed = tmp.resolve("s.gguf"), reference = tmp.resolve("r.gguf");
        long size = SyntheticLlama.write(SMALL, WeightFormat.Q8_0, 7, streamed);
        assertEquals(Files.size(streamed), size);
        GgufWriter w = new GgufWriter();
        for (Map.Entry<String, GgufValue> e : SyntheticLlama.metadata(SMALL, WeightFormat.Q8_0).entrySet()) w.put(e.getKey(), e.getValue());
        List<SyntheticLlama.Tensor> ts = SyntheticLlama.tensors(SMALL, WeightFormat.Q8_0);
        for (int i = 0; i < ts.size(); i++) {
            int index = i;
            w.tensor(ts.get(i).name(), ts.get(i).shape(), ts.get(i).type(),
                    () -> SyntheticLlama.tensorBytes(SMALL, WeightFormat.Q8_0, 7, index));
        }
        w.write(reference);
        assertArrayEquals(Files.readAllBytes(reference), Files.readAllBytes(streamed));
        // Same seed, same file; another seed, other weights.
        Path again = tmp.resolve("a.gguf"), other = tmp.resolve("o.gguf");
        SyntheticLlama.write(SMALL, WeightFormat.Q8_0, 7, again);
        SyntheticLlama.write(SMALL, WeightFormat.Q8_0, 8, other);
        assertArrayEquals(Files.readAllBytes(streamed), Files.readAllBytes(again));
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(streamed), Files.readAllBytes(other)));
    }

    @Test
    void chunkingDoesNotChangeTheBytes() throws Exception {
        // token_embd (600 x 128 = 76,800 floats) fits one chunk; a 1B matrix spans many: the stream of
        // Gaussians is per tensor, so a matrix written in one chunk equals the same matrix in many.
        int embd = 0;
        byte[] whole = SyntheticLlama.tensorBytes(SMALL, WeightFormat.Q4_0, 3, embd);
        SyntheticLlama.Shape wide = new SyntheticLlama.Shape("wide", 128, 1, 4, 2, 256, SyntheticLlama.CHUNK_FLOATS / 128 * 2 + 600,
                64, 500000, 32, 1, 4, 64, 1e-5, true);
        byte[] chunked = SyntheticLlama.tensorBytes(wide, WeightFormat.Q4_0, 3, embd);
        assertTrue(chunked.length > 2 * SyntheticLlama.CHUNK_FLOATS / 32 * 18);
        assertArrayEquals(whole, java.util.Arrays.copyOf(chunked, whole.length));
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void smallShapeLoadsAndRunsInTheEngine(WeightFormat type) throws Exception {
        Path f = tmp.resolve("tiny-" + type.id() + ".gguf");
        SyntheticLlama.write(SMALL, type, SyntheticLlama.DEFAULT_SEED, f);
        LoadedModel m = ModelFiles.load(f, ModelSlice.all(SMALL.layers()));
        ModelWeights w = m.weights();
        LlamaConfig c = w.config();
        assertEquals(128, c.dim());
        assertEquals(256, c.hiddenDim());
        assertEquals(2, c.nLayers());
        assertEquals(4, c.nHeads());
        assertEquals(2, c.nKvHeads());
        assertEquals(600, c.vocabSize());
        assertEquals(64, c.seqLen());
        assertEquals(500000f, c.ropeTheta());
        assertTrue(c.sharedClassifier());
        assertSame(w.tokenEmbedding(), w.classifier());
        assertArrayEquals(RopeScaling.llama3Factors(500000, 32, 32, 1, 4, 64), c.ropeScaling().freqFactors());
        assertEquals(type.forRowLength(128), w.layer(0).wq().format()); // rows of 128: k-quants fall back to q8_0
        assertEquals(type, w.layer(0).w2().format()); // rows of 256
        assertEquals(java.nio.file.Files.size(f) - headerAndPadding(f), residentBytes(w), 0.05 * residentBytes(w),
                "resident at the file's size");

        // Matrices are N(0, 0.02) after quantization, norms exactly 1.
        WeightMatrix wq = w.layer(1).w2();
        float[] row = new float[wq.cols()];
        double sum = 0, sq = 0;
        long n = 0;
        for (int r = 0; r < wq.rows(); r++) {
            wq.readRow(r, row, 0);
            for (float v : row) { sum += v; sq += v * v; n++; }
        }
        double mean = sum / n, std = Math.sqrt(sq / n - mean * mean);
        assertEquals(0, mean, 0.002);
        assertEquals(SyntheticLlama.WEIGHT_STD, std, 0.001 + (type == WeightFormat.Q4_0 || type == WeightFormat.Q4_K ? 0.002 : 0));
        for (float v : w.rmsFinal()) assertEquals(1f, v);

        // The byte-level vocabulary with Llama 3's specials (first special = vocab - 256 here, 128000 at full size).
        Tokenizer tok = m.tokenizer();
        assertEquals(600, tok.vocabSize());
        assertEquals(344, tok.bos());
        assertEquals(345, tok.eos());
        assertArrayEquals(new int[] {344, 'h', 'i', ' ', 0xc3, 0xa9}, tok.encode("hi é", true));
        assertEquals("hi é", tok.decode(new int[] {'h', 'i', ' ', 0xc3, 0xa9}));

        // The engine runs it: finite, not-all-equal logits.
        Transformer tf = new Transformer(w, KernelProvider.best(), TestModel.TEAM);
        SegmentState st = tf.newState(8);
        int[] ids = {tok.bos(), 'h', 'i'};
        float[] x = tf.embed(ids);
        tf.forward(st, x, ids.length);
        float[] logits = tf.lastLogits(x, ids.length);
        assertEquals(600, logits.length);
        float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
        for (float v : logits) { assertTrue(Float.isFinite(v)); lo = Math.min(lo, v); hi = Math.max(hi, v); }
        assertTrue(hi > lo);
    }

    @Test
    void llama32OneBSpecIsTheRealShape() {
        SyntheticLlama.Shape s = SyntheticLlama.shape("llama-3.2-1b");
        assertSame(SyntheticLlama.LLAMA_3_2_1B, s);
        assertEquals(64, s.headSize());
        assertEquals(512, s.kvDim());
        // Hugging Face counts 1,235,814,400 parameters; the file adds the 32 rope_freqs factors.
        assertEquals(1_235_814_400L + 32, s.parameters());
        List<SyntheticLlama.Tensor> ts = SyntheticLlama.tensors(s, WeightFormat.Q8_0);
        assertEquals(3 + 16 * 9, ts.size());
        assertEquals("token_embd.weight", ts.get(0).name());
        assertArrayEquals(new long[] {2048, 128256}, ts.get(0).shape());
        assertTrue(ts.stream().noneMatch(t -> t.name().equals("output.weight")), "tied: no output.weight");
        assertArrayEquals(new long[] {2048, 512}, ts.stream().filter(t -> t.name().equals("blk.15.attn_k.weight")).findFirst().orElseThrow().shape());
        assertArrayEquals(new long[] {8192, 2048}, ts.stream().filter(t -> t.name().equals("blk.0.ffn_down.weight")).findFirst().orElseThrow().shape());
        assertEquals(GgmlType.Q4_0, SyntheticLlama.tensors(s, WeightFormat.Q4_0).get(0).type());
        // Matrices 1,235,746,816 weights: Q8_0 34 bytes and Q4_0 18 bytes per 32; norms and rope_freqs F32.
        long f32Bytes = (33L * 2048 + 32) * 4;
        assertEquals(1_235_746_816L / 32 * 34 + f32Bytes, SyntheticLlama.dataBytes(s, WeightFormat.Q8_0));
        assertEquals(1_235_746_816L / 32 * 18 + f32Bytes, SyntheticLlama.dataBytes(s, WeightFormat.Q4_0));
        // Every row of the 1B shape is a multiple of 256: all of it is k-quant (144 / 210 bytes per 256).
        assertEquals(1_235_746_816L / 256 * 144 + f32Bytes, SyntheticLlama.dataBytes(s, WeightFormat.Q4_K));
        assertEquals(1_235_746_816L / 256 * 210 + f32Bytes, SyntheticLlama.dataBytes(s, WeightFormat.Q6_K));
        assertEquals(GgmlType.Q4_K, SyntheticLlama.tensors(s, WeightFormat.Q4_K).get(0).type());

        Map<String, GgufValue> m = SyntheticLlama.metadata(s, WeightFormat.Q8_0);
        assertEquals(7L, m.get("general.file_type").value());
        assertEquals(2048L, m.get("llama.embedding_length").value());
        assertEquals(16L, m.get("llama.block_count").value());
        assertEquals(32L, m.get("llama.attention.head_count").value());
        assertEquals(8L, m.get("llama.attention.head_count_kv").value());
        assertEquals(8192L, m.get("llama.feed_forward_length").value());
        assertEquals(64L, m.get("llama.rope.dimension_count").value());
        assertEquals(500000.0, m.get("llama.rope.freq_base").value());
        assertEquals(2048L, m.get("llama.context_length").value());
        String[] tokens = (String[]) m.get("tokenizer.ggml.tokens").value();
        assertEquals(128256, tokens.length);
        assertEquals("<|begin_of_text|>", tokens[128000]);
        assertEquals("<|end_of_text|>", tokens[128001]);
        assertEquals("<|start_header_id|>", tokens[128006]);
        assertEquals("<|eot_id|>", tokens[128009]);
        assertEquals("<|reserved_special_token_3|>", tokens[128011]);
        assertEquals("<|reserved_special_token_247|>", tokens[128255]);
        assertEquals(128000L, m.get("tokenizer.ggml.bos_token_id").value());
        assertEquals(128001L, m.get("tokenizer.ggml.eos_token_id").value());
        assertEquals(128009L, m.get("tokenizer.ggml.eot_token_id").value());
        float[] freqs = RopeScaling.llama3Factors(500000, 64, 32, 1, 4, 8192);
        assertEquals(1f, freqs[0]);
        assertEquals(32f, freqs[31]);
        assertThrows(IllegalArgumentException.class, () -> SyntheticLlama.shape("llama-9b"));
    }

    /** Bytes the engine holds for the weights: every matrix (a tied table once) and the F32 vectors. */
    static long residentBytes(ModelWeights w) {
        long n = w.tokenEmbedding().bytes() + 4L * w.rmsFinal().length;
        if (w.classifier() != w.tokenEmbedding()) n += w.classifier().bytes();
        for (int l = 0; l < w.config().nLayers(); l++) {
            var b = w.layer(l);
            n += b.wq().bytes() + b.wk().bytes() + b.wv().bytes() + b.wo().bytes() + b.w1().bytes() + b.w2().bytes() + b.w3().bytes()
                    + 4L * (b.rmsAtt().length + b.rmsFfn().length);
        }
        return n;
    }

    /** The file's bytes that are not tensor data: header, metadata, tensor infos, alignment padding. */
    static long headerAndPadding(Path f) throws java.io.IOException {
        try (dev.splitllm.engine.gguf.GgufFile g = dev.splitllm.engine.gguf.GgufFile.open(f)) {
            long data = 0;
            for (var t : g.tensors()) data += t.byteSize();
            return java.nio.file.Files.size(f) - data;
        }
    }
}
