package dev.splitllm.tools.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.engine.hf.HfSource;
import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.RopePermutation;
import dev.splitllm.engine.tensor.MatrixConverter;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.engine.tokenizer.BpeTokenizer;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * Writes any {@link ModelSource} as a Hugging Face directory: {@code config.json}
 * ({@code model_type} llama, or qwen2 for a Qwen2 source), one {@code model.safetensors} in F32,
 * F16 or BF16 with Hugging Face tensor names and q/k rows back in rotate-half order, and the
 * tokenizer: a Hugging Face source's {@code tokenizer.json} (and its config) copied; a byte-level
 * BPE vocabulary as a {@code tokenizer.json}; a SentencePiece-style one both as a Llama-2-style
 * {@code tokenizer.json} (for Hugging Face tools) and a llama2.c {@code tokenizer.bin}, which this
 * engine prefers because it reads it without DJL.
 */
public final class HfDirectoryWriter {
    private static final Logger LOG = Logger.getLogger(HfDirectoryWriter.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private HfDirectoryWriter() {}

    public static void write(ModelSource src, Path outDir, WeightFormat dtype) throws IOException {
        if (dtype != WeightFormat.F32 && dtype != WeightFormat.F16 && dtype != WeightFormat.BF16) {
            throw new IllegalArgumentException("safetensors output supports f32, f16 and bf16, not " + dtype.id());
        }
        LlamaConfig c = src.config();
        Files.createDirectories(outDir);
        LayerCache cache = new LayerCache(src);
        boolean bias = c.nLayers() > 0 && cache.layer(0).hasAttentionBias();
        String st = dtype == WeightFormat.F32 ? "F32" : dtype == WeightFormat.F16 ? "F16" : "BF16";
        int d = c.dim(), kv = c.kvDim(), h = c.hiddenDim(), v = c.vocabSize();
        SafetensorsWriter w = new SafetensorsWriter();
        w.tensor("model.embed_tokens.weight", st, new long[] {v, d}, () -> matrix(cache.ends().tokenEmbedding(), dtype, 0));
        w.tensor("model.norm.weight", st, new long[] {d}, () -> vector(cache.ends().rmsFinal(), dtype));
        if (!c.sharedClassifier()) {
            w.tensor("lm_head.weight", st, new long[] {v, d}, () -> matrix(cache.ends().classifier(), dtype, 0));
        }
        for (int l = 0; l < c.nLayers(); l++) {
            final int layer = l;
            String p = "model.layers." + l + ".";
            mat(w, cache, layer, p + "self_attn.q_proj.weight", st, d, d, dtype, LayerWeights::wq, c.nHeads(), true);
            mat(w, cache, layer, p + "self_attn.k_proj.weight", st, kv, d, dtype, LayerWeights::wk, c.nKvHeads(), false);
            mat(w, cache, layer, p + "self_attn.v_proj.weight", st, kv, d, dtype, LayerWeights::wv, 0, false);
            mat(w, cache, layer, p + "self_attn.o_proj.weight", st, d, d, dtype, LayerWeights::wo, 0, false);
            mat(w, cache, layer, p + "mlp.gate_proj.weight", st, h, d, dtype, LayerWeights::w1, 0, false);
            mat(w, cache, layer, p + "mlp.down_proj.weight", st, d, h, dtype, LayerWeights::w2, 0, false);
            mat(w, cache, layer, p + "mlp.up_proj.weight", st, h, d, dtype, LayerWeights::w3, 0, false);
            w.tensor(p + "input_layernorm.weight", st, new long[] {d}, () -> vector(cache.layer(layer).rmsAtt(), dtype));
            w.tensor(p + "post_attention_layernorm.weight", st, new long[] {d}, () -> vector(cache.layer(layer).rmsFfn(), dtype));
            if (bias) {
                w.tensor(p + "self_attn.q_proj.bias", st, new long[] {d},
                        () -> vector(RopePermutation.unpermuteMatrix(cache.layer(layer).bq(), d, 1, c.nHeads()), dtype));
                w.tensor(p + "self_attn.k_proj.bias", st, new long[] {kv},
                        () -> vector(RopePermutation.unpermuteMatrix(cache.layer(layer).bk(), kv, 1, c.nKvHeads()), dtype));
                w.tensor(p + "self_attn.v_proj.bias", st, new long[] {kv}, () -> vector(cache.layer(layer).bv(), dtype));
            }
        }
        w.write(outDir.resolve("model.safetensors"));

        Tokenizer tok = src.tokenizer();
        writeConfig(outDir, c, src.architecture().equals("qwen2") && bias ? "qwen2" : "llama", bias, st, tok);
        writeTokenizer(src, tok, outDir);
    }

    private static void mat(SafetensorsWriter w, LayerCache cache, int layer, String name, String st, int rows, int cols,
                            WeightFormat dtype, Function<LayerWeights, WeightMatrix> pick, int ropeHeads, boolean first) {
        w.tensor(name, st, new long[] {rows, cols}, () -> {
            if (first) cache.dropEnds();
            return matrix(pick.apply(cache.layer(layer)), dtype, ropeHeads);
        });
    }

    private static byte[] matrix(WeightMatrix m, WeightFormat dtype, int ropeHeads) {
        if (ropeHeads > 0) {
            float[] f = RopePermutation.unpermuteMatrix(MatrixConverter.dequantize(m), m.rows(), m.cols(), ropeHeads);
            return MatrixBytes.of(MatrixConverter.fromF32(f, 0, m.rows(), m.cols(), dtype, "q/k"));
        }
        return MatrixBytes.of(MatrixConverter.convert(m, dtype, "tensor"));
    }

    private static byte[] vector(float[] v, WeightFormat dtype) {
        return MatrixBytes.of(MatrixConverter.fromF32(v, 0, 1, v.length, dtype, "vector"));
    }

    private static void writeConfig(Path dir, LlamaConfig c, String type, boolean bias, String st, Tokenizer tok) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.putArray("architectures").add(type.equals("qwen2") ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
        n.put("model_type", type);
        n.put("hidden_size", c.dim());
        n.put("intermediate_size", c.hiddenDim());
        n.put("num_hidden_layers", c.nLayers());
        n.put("num_attention_heads", c.nHeads());
        n.put("num_key_value_heads", c.nKvHeads());
        n.put("vocab_size", c.vocabSize());
        n.put("max_position_embeddings", c.seqLen());
        n.put("rope_theta", c.ropeTheta());
        n.put("rms_norm_eps", c.normEps());
        n.put("tie_word_embeddings", c.sharedClassifier());
        n.put("hidden_act", "silu");
        if (type.equals("llama")) n.put("attention_bias", bias);
        n.put("torch_dtype", st.equals("F32") ? "float32" : st.equals("F16") ? "float16" : "bfloat16");
        if (tok != null && tok.bos() >= 0) n.put("bos_token_id", tok.bos());
        if (tok != null && tok.eos() >= 0) n.put("eos_token_id", tok.eos());
        JSON.writeValue(dir.resolve("config.json").toFile(), n);
    }

    private static void writeTokenizer(ModelSource src, Tokenizer tok, Path dir) throws IOException {
        if (src instanceof HfSource) {
            for (String f : new String[] {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.bin"}) {
                Path from = ((HfSource) src).directory().resolve(f);
                if (Files.isRegularFile(from)) Files.copy(from, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
            return;
        }
        if (tok instanceof Llama2Tokenizer) {
            Files.write(dir.resolve("tokenizer.bin"), llama2cTokenizer((Llama2Tokenizer) tok));
            JSON.writeValue(dir.resolve("tokenizer.json").toFile(), TokenizerJson.of((Llama2Tokenizer) tok));
        } else if (tok instanceof BpeTokenizer) {
            JSON.writeValue(dir.resolve("tokenizer.json").toFile(), TokenizerJson.of((BpeTokenizer) tok));
        } else if (tok != null) {
            LOG.warning("tokenizer " + tok.getClass().getSimpleName() + " cannot be written; the directory has none");
        }
    }

    /** A llama2.c {@code tokenizer.bin}: int32 max piece length, then per token score, length, bytes. */
    static byte[] llama2cTokenizer(Llama2Tokenizer t) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int max = 1;
        for (int i = 0; i < t.vocabSize(); i++) max = Math.max(max, t.piece(i).length);
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(max).array());
        for (int i = 0; i < t.vocabSize(); i++) {
            byte[] p = t.piece(i);
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(t.score(i)).putInt(p.length).array());
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
