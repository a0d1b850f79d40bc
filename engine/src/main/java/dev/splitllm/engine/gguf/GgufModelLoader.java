package dev.splitllm.engine.gguf;

import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.ModelFormatException;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.RopeScaling;
import dev.splitllm.engine.tensor.WeightMatrix;
import java.io.IOException;
import java.util.Locale;
import java.util.logging.Logger;

/**
 * Builds a {@link LlamaConfig} and the {@link ModelWeights} of a {@link ModelSlice} from a GGUF
 * file of architecture {@code llama}, {@code mistral} or {@code qwen2} (llama.cpp tensor names:
 * {@code token_embd}, {@code blk.N.attn_q} ..., {@code output_norm}, {@code output}; a missing
 * {@code output} means a tied classifier).
 *
 * <p>Hyper-parameters come from {@code ARCH.embedding_length}, {@code .feed_forward_length},
 * {@code .block_count}, {@code .attention.head_count(_kv)}, {@code .context_length},
 * {@code .rope.freq_base} (default 10000) and {@code .attention.layer_norm_rms_epsilon}
 * (default 1e-5); the vocabulary size from the embedding's shape; RoPE scaling ({@link #ropeScaling})
 * and {@code .attention.sliding_window} (Mistral) as llama.cpp reads them. {@code llama}/{@code mistral}
 * GGUFs store q/k rows in the consecutive-pair RoPE order the engine uses; {@code qwen2} ones
 * in rotate-half order, so their q/k rows and biases are permuted at load.
 */
public final class GgufModelLoader {
    private static final Logger LOG = Logger.getLogger(GgufModelLoader.class.getName());

    private GgufModelLoader() {}

    /** The architectures this loader understands. */
    public static boolean supports(String arch) {
        return arch.equals("llama") || arch.equals("mistral") || arch.equals("qwen2");
    }

    /** {@code general.architecture}, checked to be supported. */
    public static String architecture(GgufFile f) throws ModelFormatException {
        String arch = f.getString("general.architecture", null);
        if (arch == null) {
            throw new ModelFormatException(f.path() + ": missing metadata 'general.architecture'");
        }
        arch = arch.toLowerCase(Locale.ROOT);
        if (!supports(arch)) {
            throw new ModelFormatException(f.path() + ": architecture '" + arch + "' is not supported (supported: llama, mistral, qwen2)");
        }
        return arch;
    }

    /** The model's configuration, validated against the embedding tensor. */
    public static LlamaConfig config(GgufFile f) throws ModelFormatException {
        String a = architecture(f);
        int dim = f.requireInt(a + ".embedding_length", 1, LlamaConfig.MAX_DIM);
        int hidden = f.requireInt(a + ".feed_forward_length", 1, 4L * LlamaConfig.MAX_DIM);
        int layers = f.requireInt(a + ".block_count", 1, LlamaConfig.MAX_LAYERS);
        int heads = f.requireInt(a + ".attention.head_count", 1, dim);
        int kvHeads = f.get(a + ".attention.head_count_kv") == null ? heads : f.requireInt(a + ".attention.head_count_kv", 1, heads);
        long ctx = f.getLong(a + ".context_length", 2048);
        if (ctx <= 0) {
            throw new ModelFormatException(f.path() + ": " + a + ".context_length = " + ctx + " is not positive");
        }
        if (ctx > LlamaConfig.MAX_SEQ_LEN) {
            LOG.warning(f.path() + ": context length " + ctx + " capped at " + LlamaConfig.MAX_SEQ_LEN);
            ctx = LlamaConfig.MAX_SEQ_LEN;
        }
        double theta = f.getDouble(a + ".rope.freq_base", 10000.0);
        double eps = f.getDouble(a + ".attention.layer_norm_rms_epsilon", 1e-5);
        if (heads > 0 && dim % heads == 0) {
            long hs = dim / heads;
            for (String k : new String[] {".attention.key_length", ".attention.value_length", ".rope.dimension_count"}) {
                long v = f.getLong(a + k, hs);
                if (v != hs) {
                    throw new ModelFormatException(f.path() + ": " + a + k + " = " + v + " differs from dim / heads = " + hs
                            + " (partial rotary or custom head sizes are not supported)");
                }
            }
        }
        RopeScaling rope = ropeScaling(f, a, ctx, dim / heads);
        long window = f.getLong(a + ".attention.sliding_window", 0);
        if (window < 0 || window > Integer.MAX_VALUE) {
            throw new ModelFormatException(f.path() + ": " + a + ".attention.sliding_window = " + window + " is out of range");
        }
        GgufTensorInfo emb = f.requireTensor("token_embd.weight");
        if (emb.shape().length != 2 || emb.shape()[0] != dim || emb.shape()[1] > LlamaConfig.MAX_VOCAB) {
            throw new ModelFormatException(f.path() + ": token_embd.weight has shape " + java.util.Arrays.toString(emb.shape())
                    + ", expected [" + dim + ", vocab]");
        }
        int vocab = (int) emb.shape()[1];
        boolean tied = f.tensor("output.weight") == null;
        try {
            return new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, (int) ctx, (float) theta, (float) eps, tied,
                    rope, window >= ctx ? 0 : (int) window);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(f.path() + ": " + e.getMessage());
        }
    }

    /**
     * RoPE scaling as llama.cpp reads it: {@code rope.scaling.type} (absent = linear), {@code .factor}
     * (absent or 0 = none), {@code .original_context_length}, {@code .attn_factor}, the YaRN betas
     * ({@code rope.scaling.yarn_beta_fast/slow}, defaults 32 and 1), and the {@code rope_freqs.weight}
     * tensor (Llama 3 frequency divisors).
     */
    static RopeScaling ropeScaling(GgufFile f, String a, long ctx, int headSize) throws ModelFormatException {
        String type = f.getString(a + ".rope.scaling.type", "linear").toLowerCase(Locale.ROOT);
        double factor = f.getDouble(a + ".rope.scaling.factor", f.getDouble(a + ".rope.scale_linear", 0));
        RopeScaling.Type t;
        switch (type) {
            case "none": t = RopeScaling.Type.NONE; break;
            case "linear": t = factor == 0 || factor == 1 ? RopeScaling.Type.NONE : RopeScaling.Type.LINEAR; break;
            case "yarn": t = RopeScaling.Type.YARN; break;
            default: throw new ModelFormatException(f.path() + ": RoPE scaling type '" + type + "' is not supported (none, linear, yarn)");
        }
        if (f.get(a + ".rope.scaling.yarn_log_multiplier") != null && f.getDouble(a + ".rope.scaling.yarn_log_multiplier", 0) != 0) {
            throw new ModelFormatException(f.path() + ": YaRN with yarn_log_multiplier (DeepSeek-style mscale) is not supported");
        }
        float[] ff = null;
        if (f.tensor("rope_freqs.weight") != null) {
            try {
                ff = new GgufTensorLoader(f).vector("rope_freqs.weight", headSize / 2);
            } catch (ModelFormatException e) {
                throw e;
            } catch (IOException e) {
                throw new ModelFormatException(f.path() + ": cannot read rope_freqs.weight: " + e.getMessage());
            }
        }
        try {
            return new RopeScaling(t, t == RopeScaling.Type.NONE ? 1f : (float) factor,
                    (int) f.getLong(a + ".rope.scaling.original_context_length", ctx),
                    (float) f.getDouble(a + ".rope.scaling.yarn_beta_fast", 32), (float) f.getDouble(a + ".rope.scaling.yarn_beta_slow", 1),
                    (float) f.getDouble(a + ".rope.scaling.attn_factor", 1), ff);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(f.path() + ": " + e.getMessage());
        }
    }

    /** Loads the tensors of {@code slice}. */
    public static ModelWeights load(GgufFile f, ModelSlice slice) throws IOException {
        LlamaConfig c = config(f);
        try {
            slice.checkAgainst(c.nLayers());
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(f.path() + ": " + e.getMessage());
        }
        boolean neox = architecture(f).equals("qwen2");
        int qHeads = neox ? c.nHeads() : 0, kHeads = neox ? c.nKvHeads() : 0;
        GgufTensorLoader t = new GgufTensorLoader(f);
        int d = c.dim(), kv = c.kvDim(), h = c.hiddenDim(), v = c.vocabSize();
        boolean needTable = slice.withEmbedding() || (slice.withHead() && c.sharedClassifier());
        WeightMatrix emb = needTable ? t.matrix("token_embd.weight", v, d) : null;
        LayerWeights[] layers = new LayerWeights[c.nLayers()];
        for (int l = slice.firstLayer(); l < slice.endLayer(); l++) {
            String p = "blk." + l + ".";
            boolean bias = f.tensor(p + "attn_q.bias") != null || f.tensor(p + "attn_k.bias") != null
                    || f.tensor(p + "attn_v.bias") != null;
            layers[l] = new LayerWeights(
                    t.vector(p + "attn_norm.weight", d),
                    t.matrix(p + "attn_q.weight", d, d, qHeads),
                    t.matrix(p + "attn_k.weight", kv, d, kHeads),
                    t.matrix(p + "attn_v.weight", kv, d),
                    t.matrix(p + "attn_output.weight", d, d),
                    t.vector(p + "ffn_norm.weight", d),
                    t.matrix(p + "ffn_gate.weight", h, d),
                    t.matrix(p + "ffn_down.weight", d, h),
                    t.matrix(p + "ffn_up.weight", h, d),
                    bias ? t.vector(p + "attn_q.bias", d, qHeads) : null,
                    bias ? t.vector(p + "attn_k.bias", kv, kHeads) : null,
                    bias ? t.vector(p + "attn_v.bias", kv) : null);
        }
        float[] rmsFinal = null;
        WeightMatrix cls = null;
        if (slice.withHead()) {
            rmsFinal = t.vector("output_norm.weight", d);
            cls = c.sharedClassifier() ? emb : t.matrix("output.weight", v, d);
        }
        return new ModelWeights(c, slice, slice.withEmbedding() ? emb : null, layers, rmsFinal, cls);
    }
}
