package dev.splitllm.tools.convert;

import dev.splitllm.engine.gguf.GgmlType;
import dev.splitllm.engine.gguf.GgufTokenizerLoader;
import dev.splitllm.engine.gguf.GgufValue;
import dev.splitllm.engine.gguf.GgufValueType;
import dev.splitllm.engine.gguf.GgufWriter;
import dev.splitllm.engine.model.RopeScaling;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.engine.tokenizer.PreTokenizerPattern;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Small random-weight GGUF models, one per architecture variant the engine claims, for checks
 * against llama.cpp (no pretrained model of these families can be fetched here). Each has a
 * real tokenizer section with special tokens and the family's chat template:
 *
 * <ul>
 *   <li>{@code llama2}: Llama 2 MHA, linear RoPE scaling (factor 4), untied head, the stories15M
 *       SentencePiece vocabulary with {@code <unk> <s> </s>};</li>
 *   <li>{@code llama3}: GQA (8 query / 2 KV heads), Llama 3.1 RoPE scaling ({@code rope_freqs}),
 *       untied head, a trained byte-level BPE vocabulary ({@code llama-bpe}) with Llama 3's
 *       header and end-of-turn tokens;</li>
 *   <li>{@code qwen2}: q/k/v biases, rotate-half RoPE with YaRN (factor 4), tied head, a trained
 *       byte-level BPE vocabulary ({@code qwen2}) with ChatML tokens;</li>
 *   <li>{@code mistral}: GQA (4 / 1), a 16-position sliding window, the SentencePiece vocabulary
 *       plus control tokens {@code [INST] [/INST]}.</li>
 * </ul>
 * Weights are Gaussian with the scales of trained models (projections ~ 1/sqrt(d), so hidden
 * states stay of order one and logits spread over a few units), from a fixed seed: the same
 * inputs always give the same file.
 */
public final class SyntheticArchitectures {
    /** The variants, by the name the CLI takes. */
    public static final List<String> NAMES = List.of("llama2", "llama3", "qwen2", "mistral");

    /** Positions a query sees in the mistral fixture (shorter than the 64-token test sequence). */
    public static final int MISTRAL_WINDOW = 16;

    private SyntheticArchitectures() {}

    /** Shape and features of one variant. */
    private record Spec(String arch, int dim, int hidden, int layers, int heads, int kvHeads, float theta, boolean tied,
                        boolean bias, int ctx) {}

    /**
     * Writes variant {@code name} to {@code out}; {@code spmVocabulary} is the stories15M tokenizer
     * (its pieces and scores), also the corpus the BPE vocabularies are trained on.
     */
    public static void write(String name, Llama2Tokenizer spmVocabulary, Path out) throws IOException {
        GgufWriter w = new GgufWriter();
        Spec s;
        switch (name) {
            case "llama2": s = new Spec("llama", 128, 352, 3, 4, 4, 10000f, false, false, 512); break;
            case "llama3": s = new Spec("llama", 128, 352, 3, 8, 2, 10000f, false, false, 512); break;
            case "qwen2": s = new Spec("qwen2", 128, 352, 3, 4, 2, 10000f, true, true, 512); break;
            case "mistral": s = new Spec("llama", 128, 352, 3, 4, 1, 10000f, false, false, 512); break;
            default: throw new IllegalArgumentException("unknown synthetic architecture '" + name + "' (one of " + NAMES + ")");
        }
        String a = s.arch;
        int hs = s.dim / s.heads;
        w.put("general.architecture", GgufValue.ofString(a));
        w.put("general.name", GgufValue.ofString("splitllm-synthetic-" + name));
        w.put("general.file_type", GgufValue.ofUInt32(0));
        w.put(a + ".context_length", GgufValue.ofUInt32(s.ctx));
        w.put(a + ".embedding_length", GgufValue.ofUInt32(s.dim));
        w.put(a + ".block_count", GgufValue.ofUInt32(s.layers));
        w.put(a + ".feed_forward_length", GgufValue.ofUInt32(s.hidden));
        w.put(a + ".rope.dimension_count", GgufValue.ofUInt32(hs));
        w.put(a + ".attention.head_count", GgufValue.ofUInt32(s.heads));
        w.put(a + ".attention.head_count_kv", GgufValue.ofUInt32(s.kvHeads));
        w.put(a + ".attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(1e-5));
        w.put(a + ".rope.freq_base", GgufValue.ofFloat32(s.theta));
        float[] ropeFreqs = null;
        switch (name) {
            case "llama2":
                w.put(a + ".rope.scaling.type", GgufValue.ofString("linear"));
                w.put(a + ".rope.scaling.factor", GgufValue.ofFloat32(4));
                break;
            case "llama3":
                // Llama 3.1's rule with a short original context, so the factors matter within the test's positions.
                ropeFreqs = RopeScaling.llama3Factors(s.theta, hs, 8, 1, 4, 32);
                break;
            case "qwen2":
                w.put(a + ".rope.scaling.type", GgufValue.ofString("yarn"));
                w.put(a + ".rope.scaling.factor", GgufValue.ofFloat32(4));
                w.put(a + ".rope.scaling.original_context_length", GgufValue.ofUInt32(64));
                break;
            case "mistral":
                w.put(a + ".attention.sliding_window", GgufValue.ofUInt32(MISTRAL_WINDOW));
                break;
            default:
        }
        int vocab = tokenizer(w, name, spmVocabulary);
        w.put("tokenizer.chat_template", GgufValue.ofString(template(name)));
        w.put(a + ".vocab_size", GgufValue.ofUInt32(vocab));

        Random rnd = new Random(0x5eed + name.hashCode());
        int d = s.dim, kv = s.kvHeads * hs, h = s.hidden;
        double proj = 1 / Math.sqrt(d);
        tensor(w, "token_embd.weight", new long[] {d, vocab}, gaussian(rnd, (long) d * vocab, s.tied ? 0.15 : 0.05, 0));
        tensor(w, "output_norm.weight", new long[] {d}, gaussian(rnd, d, 0.1, 1));
        if (!s.tied) tensor(w, "output.weight", new long[] {d, vocab}, gaussian(rnd, (long) d * vocab, 3 * proj, 0));
        if (ropeFreqs != null) tensor(w, "rope_freqs.weight", new long[] {hs / 2}, ropeFreqs);
        for (int l = 0; l < s.layers; l++) {
            String p = "blk." + l + ".";
            tensor(w, p + "attn_norm.weight", new long[] {d}, gaussian(rnd, d, 0.1, 1));
            tensor(w, p + "attn_q.weight", new long[] {d, d}, gaussian(rnd, (long) d * d, 2 * proj, 0));
            tensor(w, p + "attn_k.weight", new long[] {d, kv}, gaussian(rnd, (long) d * kv, 2 * proj, 0));
            tensor(w, p + "attn_v.weight", new long[] {d, kv}, gaussian(rnd, (long) d * kv, proj, 0));
            tensor(w, p + "attn_output.weight", new long[] {d, d}, gaussian(rnd, (long) d * d, proj, 0));
            if (s.bias) {
                tensor(w, p + "attn_q.bias", new long[] {d}, gaussian(rnd, d, 0.3, 0));
                tensor(w, p + "attn_k.bias", new long[] {kv}, gaussian(rnd, kv, 0.3, 0));
                tensor(w, p + "attn_v.bias", new long[] {kv}, gaussian(rnd, kv, 0.1, 0));
            }
            tensor(w, p + "ffn_norm.weight", new long[] {d}, gaussian(rnd, d, 0.1, 1));
            tensor(w, p + "ffn_gate.weight", new long[] {d, h}, gaussian(rnd, (long) d * h, proj, 0));
            tensor(w, p + "ffn_up.weight", new long[] {d, h}, gaussian(rnd, (long) d * h, proj, 0));
            tensor(w, p + "ffn_down.weight", new long[] {h, d}, gaussian(rnd, (long) h * d, 1 / Math.sqrt(h), 0));
        }
        w.write(out);
    }

    /** The family's Hugging Face chat template (stored as {@code tokenizer.chat_template}). */
    public static String template(String name) throws IOException {
        try (InputStream in = SyntheticArchitectures.class.getResourceAsStream("templates/" + name + ".jinja")) {
            if (in == null) throw new IOException("no chat template resource for " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static float[] gaussian(Random rnd, long n, double std, double mean) {
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) a[i] = (float) (mean + std * rnd.nextGaussian());
        return a;
    }

    private static void tensor(GgufWriter w, String name, long[] shape, float[] data) {
        w.tensor(name, shape, GgmlType.F32, () -> MatrixBytes.of(data));
    }

    /** Writes the tokenizer metadata; returns the vocabulary size. */
    private static int tokenizer(GgufWriter w, String name, Llama2Tokenizer spm) {
        if (name.equals("llama2") || name.equals("mistral")) {
            List<String> tokens = new ArrayList<>();
            List<Double> scores = new ArrayList<>();
            List<Long> types = new ArrayList<>();
            for (int i = 0; i < spm.vocabSize(); i++) {
                byte[] p = spm.piece(i);
                String text = new String(p, StandardCharsets.UTF_8).replace(" ", GgufTokenizerLoader.SPM_SPACE);
                long type = GgufTokenizerLoader.TYPE_NORMAL;
                if (i == 0) { text = "<unk>"; type = GgufTokenizerLoader.TYPE_UNKNOWN; }
                else if (i == 1) { text = "<s>"; type = GgufTokenizerLoader.TYPE_CONTROL; }
                else if (i == 2) { text = "</s>"; type = GgufTokenizerLoader.TYPE_CONTROL; }
                else if (p.length == 6 && text.startsWith("<0x")) type = GgufTokenizerLoader.TYPE_BYTE;
                tokens.add(text);
                scores.add((double) spm.score(i));
                types.add(type);
            }
            if (name.equals("mistral")) {
                for (String c : new String[] {"[INST]", "[/INST]"}) {
                    tokens.add(c);
                    scores.add(0.0);
                    types.add((long) GgufTokenizerLoader.TYPE_CONTROL);
                }
            }
            w.put("tokenizer.ggml.model", GgufValue.ofString("llama"));
            w.put("tokenizer.ggml.pre", GgufValue.ofString("default"));
            w.put("tokenizer.ggml.tokens", GgufValue.ofStrings(tokens.toArray(new String[0])));
            w.put("tokenizer.ggml.scores", GgufValue.ofFloats(scores.stream().mapToDouble(Double::doubleValue).toArray()));
            w.put("tokenizer.ggml.token_type", GgufValue.ofInts(GgufValueType.INT32, types.stream().mapToLong(Long::longValue).toArray()));
            w.put("tokenizer.ggml.unknown_token_id", GgufValue.ofUInt32(0));
            w.put("tokenizer.ggml.bos_token_id", GgufValue.ofUInt32(1));
            w.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(2));
            w.put("tokenizer.ggml.add_bos_token", GgufValue.ofBool(true));
            w.put("tokenizer.ggml.add_eos_token", GgufValue.ofBool(false));
            w.put("tokenizer.ggml.add_space_prefix", GgufValue.ofBool(true));
            return tokens.size();
        }
        boolean llama3 = name.equals("llama3");
        PreTokenizerPattern pre = llama3 ? PreTokenizerPattern.LLAMA3 : PreTokenizerPattern.QWEN2;
        BpeTrainer.Vocabulary v = BpeTrainer.train(corpus(spm), pre, 1500);
        List<String> tokens = new ArrayList<>(v.tokens());
        String[] specials = llama3
                ? new String[] {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}
                : new String[] {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
        int first = tokens.size();
        for (String sp : specials) tokens.add(sp);
        long[] types = new long[tokens.size()];
        for (int i = 0; i < types.length; i++) types[i] = i >= first ? GgufTokenizerLoader.TYPE_CONTROL : GgufTokenizerLoader.TYPE_NORMAL;
        w.put("tokenizer.ggml.model", GgufValue.ofString("gpt2"));
        w.put("tokenizer.ggml.pre", GgufValue.ofString(pre.ggufName()));
        w.put("tokenizer.ggml.tokens", GgufValue.ofStrings(tokens.toArray(new String[0])));
        w.put("tokenizer.ggml.merges", GgufValue.ofStrings(v.merges().toArray(new String[0])));
        w.put("tokenizer.ggml.token_type", GgufValue.ofInts(GgufValueType.INT32, types));
        if (llama3) {
            w.put("tokenizer.ggml.bos_token_id", GgufValue.ofUInt32(first));
            w.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(first + 1));
            w.put("tokenizer.ggml.eot_token_id", GgufValue.ofUInt32(first + 4));
            w.put("tokenizer.ggml.add_bos_token", GgufValue.ofBool(true));
        } else {
            w.put("tokenizer.ggml.bos_token_id", GgufValue.ofUInt32(first));
            w.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(first + 2));
            w.put("tokenizer.ggml.padding_token_id", GgufValue.ofUInt32(first));
            w.put("tokenizer.ggml.eot_token_id", GgufValue.ofUInt32(first + 2));
            w.put("tokenizer.ggml.add_bos_token", GgufValue.ofBool(false));
        }
        return tokens.size();
    }

    /** The SentencePiece pieces as text, weighted by rank (earlier pieces are the frequent ones). */
    private static Map<String, Integer> corpus(Llama2Tokenizer spm) {
        Map<String, Integer> c = new LinkedHashMap<>();
        for (int i = 259; i < spm.vocabSize(); i++) {
            String s = new String(spm.piece(i), StandardCharsets.UTF_8);
            if (s.isBlank() || s.indexOf('\uFFFD') >= 0) continue;
            c.merge(s, 1 + (spm.vocabSize() - i) / 1000, Integer::sum);
        }
        return c;
    }

    /** For messages: the variant names. */
    public static String names() {
        return String.join("|", NAMES).toLowerCase(Locale.ROOT);
    }
}
