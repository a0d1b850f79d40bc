package dev.splitllm.tools.convert;

import dev.splitllm.engine.gguf.GgmlType;
import dev.splitllm.engine.gguf.GgufTokenizerLoader;
import dev.splitllm.engine.gguf.GgufValue;
import dev.splitllm.engine.gguf.GgufValueType;
import dev.splitllm.engine.gguf.GgufWriter;
import dev.splitllm.engine.hf.HfSource;
import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.tensor.MatrixConverter;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.engine.tokenizer.BpeTokenizer;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * Writes any {@link ModelSource} as a GGUF file of architecture {@code llama} that this engine
 * and llama.cpp read: llama.cpp tensor names, q/k rows in the consecutive-pair RoPE order
 * {@code llama} uses, every matrix (embedding and classifier included) at the requested type,
 * norms and biases F32, the {@code llama.*} hyper-parameters and the tokenizer as
 * {@code tokenizer.ggml.*} metadata ({@code llama} for SentencePiece-style vocabularies,
 * {@code gpt2} for byte-level BPE). A tied classifier is written once (no {@code output.weight}).
 * Blocks are read and converted one at a time.
 */
public final class GgufModelWriter {
    private static final Logger LOG = Logger.getLogger(GgufModelWriter.class.getName());

    private GgufModelWriter() {}

    /** Writes {@code src} to {@code out} with matrices in {@code type}. */
    public static void write(ModelSource src, Path out, WeightFormat type) throws IOException {
        LlamaConfig c = src.config();
        GgmlType.of(type); // fails early on a format GGUF cannot hold
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.ofString("llama"));
        w.put("general.name", GgufValue.ofString(String.valueOf(out.getFileName()).replaceFirst("\\.gguf$", "")));
        w.put("general.file_type", GgufValue.ofUInt32(fileType(type)));
        w.put("general.quantization_version", GgufValue.ofUInt32(2));
        w.put("llama.context_length", GgufValue.ofUInt32(c.seqLen()));
        w.put("llama.embedding_length", GgufValue.ofUInt32(c.dim()));
        w.put("llama.block_count", GgufValue.ofUInt32(c.nLayers()));
        w.put("llama.feed_forward_length", GgufValue.ofUInt32(c.hiddenDim()));
        w.put("llama.rope.dimension_count", GgufValue.ofUInt32(c.headSize()));
        w.put("llama.attention.head_count", GgufValue.ofUInt32(c.nHeads()));
        w.put("llama.attention.head_count_kv", GgufValue.ofUInt32(c.nKvHeads()));
        w.put("llama.attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(c.normEps()));
        w.put("llama.rope.freq_base", GgufValue.ofFloat32(c.ropeTheta()));
        w.put("llama.vocab_size", GgufValue.ofUInt32(c.vocabSize()));
        Tokenizer tok = src.tokenizer();
        if (src instanceof HfSource && !(tok instanceof Llama2Tokenizer)) {
            Path json = ((HfSource) src).directory().resolve("tokenizer.json");
            BpeTokenizer bpe = java.nio.file.Files.isRegularFile(json)
                    ? TokenizerJson.readBpe(json, c.vocabSize(), tok == null ? -1 : tok.bos(), tok == null ? -1 : tok.eos()) : null;
            if (bpe == null && tok != null) {
                LOG.warning(json + " is not a byte-level BPE tokenizer; the GGUF file will have no tokenizer");
            }
            tok = bpe;
        }
        if (tok == null) {
            LOG.warning("the " + src.format() + " source has no tokenizer; the GGUF file will have none");
        } else {
            putTokenizer(w, tok);
        }

        LayerCache cache = new LayerCache(src);
        int d = c.dim(), kv = c.kvDim(), h = c.hiddenDim(), v = c.vocabSize();
        w.tensor("token_embd.weight", new long[] {d, v}, GgmlType.of(type.forRowLength(d)), () -> matrix(cache.ends().tokenEmbedding(), type, "token_embd.weight"));
        w.tensor("output_norm.weight", new long[] {d}, GgmlType.F32, () -> MatrixBytes.of(cache.ends().rmsFinal()));
        if (!c.sharedClassifier()) {
            w.tensor("output.weight", new long[] {d, v}, GgmlType.of(type.forRowLength(d)), () -> matrix(cache.ends().classifier(), type, "output.weight"));
        }
        for (int l = 0; l < c.nLayers(); l++) {
            final int layer = l;
            String p = "blk." + l + ".";
            matrixTensor(w, cache, layer, p + "attn_q.weight", d, d, type, LayerWeights::wq, true);
            matrixTensor(w, cache, layer, p + "attn_k.weight", kv, d, type, LayerWeights::wk, false);
            matrixTensor(w, cache, layer, p + "attn_v.weight", kv, d, type, LayerWeights::wv, false);
            matrixTensor(w, cache, layer, p + "attn_output.weight", d, d, type, LayerWeights::wo, false);
            matrixTensor(w, cache, layer, p + "ffn_gate.weight", h, d, type, LayerWeights::w1, false);
            matrixTensor(w, cache, layer, p + "ffn_down.weight", d, h, type, LayerWeights::w2, false);
            matrixTensor(w, cache, layer, p + "ffn_up.weight", h, d, type, LayerWeights::w3, false);
            w.tensor(p + "attn_norm.weight", new long[] {d}, GgmlType.F32, () -> MatrixBytes.of(cache.layer(layer).rmsAtt()));
            w.tensor(p + "ffn_norm.weight", new long[] {d}, GgmlType.F32, () -> MatrixBytes.of(cache.layer(layer).rmsFfn()));
            if (cache.layer(layer).hasAttentionBias()) {
                w.tensor(p + "attn_q.bias", new long[] {d}, GgmlType.F32, () -> MatrixBytes.of(cache.layer(layer).bq()));
                w.tensor(p + "attn_k.bias", new long[] {kv}, GgmlType.F32, () -> MatrixBytes.of(cache.layer(layer).bk()));
                w.tensor(p + "attn_v.bias", new long[] {kv}, GgmlType.F32, () -> MatrixBytes.of(cache.layer(layer).bv()));
            }
        }
        w.write(out);
    }

    private static void matrixTensor(GgufWriter w, LayerCache cache, int layer, String name, int rows, int cols,
                                     WeightFormat type, Function<LayerWeights, WeightMatrix> pick, boolean first) {
        w.tensor(name, new long[] {cols, rows}, GgmlType.of(type.forRowLength(cols)), () -> {
            if (first) cache.dropEnds();
            return matrix(pick.apply(cache.layer(layer)), type, name);
        });
    }

    private static byte[] matrix(WeightMatrix m, WeightFormat type, String name) {
        return MatrixBytes.of(MatrixConverter.convert(m, type, name));
    }

    /** llama.cpp's {@code general.file_type} (LLAMA_FTYPE_*) for an all-{@code f} model. */
    static long fileType(WeightFormat f) {
        switch (f) {
            case F32: return 0;
            case F16: return 1;
            case Q4_0: return 2;
            case Q8_0: return 7;
            case Q4_K: return 14; // LLAMA_FTYPE_MOSTLY_Q4_K_S: every matrix Q4_K (rows of other lengths Q8_0)
            case Q5_K: return 16; // MOSTLY_Q5_K_S
            case Q6_K: return 18; // MOSTLY_Q6_K
            case BF16: return 32;
            default: throw new IllegalArgumentException(String.valueOf(f));
        }
    }

    /** The {@code tokenizer.ggml.*} metadata of a tokenizer. */
    static void putTokenizer(GgufWriter w, Tokenizer tok) {
        int n = tok.vocabSize();
        String[] tokens = new String[n];
        long[] types = new long[n];
        if (tok instanceof Llama2Tokenizer) {
            Llama2Tokenizer t = (Llama2Tokenizer) tok;
            double[] scores = new double[n];
            int unk = -1;
            for (int i = 0; i < n; i++) {
                byte[] p = t.piece(i);
                String s = new String(p, StandardCharsets.UTF_8);
                tokens[i] = s.replace(" ", GgufTokenizerLoader.SPM_SPACE);
                scores[i] = t.score(i);
                if (s.equals("<unk>")) {
                    types[i] = GgufTokenizerLoader.TYPE_UNKNOWN;
                    if (unk < 0) unk = i;
                } else if (t.isControl(i)) {
                    types[i] = GgufTokenizerLoader.TYPE_CONTROL;
                } else if (p.length == 6 && s.startsWith("<0x") && s.endsWith(">")) {
                    types[i] = GgufTokenizerLoader.TYPE_BYTE;
                } else {
                    types[i] = GgufTokenizerLoader.TYPE_NORMAL;
                }
            }
            w.put("tokenizer.ggml.model", GgufValue.ofString("llama"));
            w.put("tokenizer.ggml.tokens", GgufValue.ofStrings(tokens));
            w.put("tokenizer.ggml.scores", GgufValue.ofFloats(scores));
            w.put("tokenizer.ggml.token_type", GgufValue.ofInts(GgufValueType.INT32, types));
            if (unk >= 0) w.put("tokenizer.ggml.unknown_token_id", GgufValue.ofUInt32(unk));
            w.put("tokenizer.ggml.add_space_prefix", GgufValue.ofBool(t.addSpacePrefix()));
        } else if (tok instanceof BpeTokenizer) {
            BpeTokenizer t = (BpeTokenizer) tok;
            for (int i = 0; i < n; i++) {
                tokens[i] = t.token(i);
                types[i] = t.isSpecial(i) ? GgufTokenizerLoader.TYPE_CONTROL : GgufTokenizerLoader.TYPE_NORMAL;
            }
            w.put("tokenizer.ggml.model", GgufValue.ofString("gpt2"));
            w.put("tokenizer.ggml.pre", GgufValue.ofString(t.preTokenizer().ggufName()));
            w.put("tokenizer.ggml.tokens", GgufValue.ofStrings(tokens));
            w.put("tokenizer.ggml.merges", GgufValue.ofStrings(t.merges()));
            w.put("tokenizer.ggml.token_type", GgufValue.ofInts(GgufValueType.INT32, types));
        } else {
            LOG.warning("tokenizer " + tok.getClass().getSimpleName() + " cannot be stored in GGUF metadata; the file will have none");
            return;
        }
        if (tok.bos() >= 0) w.put("tokenizer.ggml.bos_token_id", GgufValue.ofUInt32(tok.bos()));
        if (tok.eos() >= 0) w.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(tok.eos()));
        w.put("tokenizer.ggml.add_bos_token", GgufValue.ofBool(tok.bos() >= 0));
    }
}
