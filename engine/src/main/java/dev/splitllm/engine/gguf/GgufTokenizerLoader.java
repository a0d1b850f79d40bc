package dev.splitllm.engine.gguf;

import dev.splitllm.engine.ModelFormatException;
import dev.splitllm.engine.tokenizer.BpeTokenizer;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.engine.tokenizer.PreTokenizerPattern;
import dev.splitllm.engine.tokenizer.SpecialTokens;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.logging.Logger;

/**
 * Builds the tokenizer stored in a GGUF file's {@code tokenizer.ggml.*} metadata:
 * {@code model = llama} (SentencePiece-style: tokens with {@code ▁} for spaces, scores, token
 * types, byte fallback) becomes a {@link Llama2Tokenizer}; {@code model = gpt2} (byte-level BPE:
 * tokens, merges, pre-tokenizer name in {@code tokenizer.ggml.pre}) a {@link BpeTokenizer}.
 */
public final class GgufTokenizerLoader {
    private static final Logger LOG = Logger.getLogger(GgufTokenizerLoader.class.getName());

    /** llama.cpp token types. */
    public static final int TYPE_NORMAL = 1, TYPE_UNKNOWN = 2, TYPE_CONTROL = 3, TYPE_USER_DEFINED = 4,
            TYPE_UNUSED = 5, TYPE_BYTE = 6;
    /** SentencePiece's space marker, U+2581. */
    public static final String SPM_SPACE = "\u2581";

    private GgufTokenizerLoader() {}

    /** The tokenizer of {@code f}, checked to have {@code vocabSize} tokens (the embedding's rows). */
    public static Tokenizer load(GgufFile f, int vocabSize) throws ModelFormatException {
        String model = f.getString("tokenizer.ggml.model", null);
        if (model == null) {
            throw new ModelFormatException(f.path() + ": no tokenizer in the file (missing 'tokenizer.ggml.model')");
        }
        String[] tokens = f.getStrings("tokenizer.ggml.tokens");
        if (tokens == null || tokens.length == 0) {
            throw new ModelFormatException(f.path() + ": missing or empty 'tokenizer.ggml.tokens'");
        }
        if (tokens.length > vocabSize) {
            throw new ModelFormatException(f.path() + ": " + tokens.length + " tokens but the embedding has only " + vocabSize + " rows");
        }
        if (tokens.length < vocabSize) {
            // Models pad the embedding (e.g. Qwen2); the extra rows are never produced by the tokenizer.
            String[] padded = java.util.Arrays.copyOf(tokens, vocabSize);
            for (int i = tokens.length; i < vocabSize; i++) padded[i] = "[PAD" + i + "]";
            tokens = padded;
        }
        long[] types = f.getLongs("tokenizer.ggml.token_type");
        if (types != null && types.length != f.getStrings("tokenizer.ggml.tokens").length) {
            throw new ModelFormatException(f.path() + ": tokenizer.ggml.token_type has " + types.length + " entries for "
                    + f.getStrings("tokenizer.ggml.tokens").length + " tokens");
        }
        int bos = tokenId(f, "tokenizer.ggml.bos_token_id", vocabSize);
        int eos = tokenId(f, "tokenizer.ggml.eos_token_id", vocabSize);
        int stored = f.getStrings("tokenizer.ggml.tokens").length;
        boolean[] control = new boolean[vocabSize];
        // llama.cpp's special tokens for parse_special: control and unknown (cut when parsing), user-defined (always).
        boolean[] cut = new boolean[vocabSize], userDefined = new boolean[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            long t = types != null && i < types.length ? types[i] : TYPE_NORMAL;
            control[i] = i >= stored || t == TYPE_CONTROL || t == TYPE_UNUSED; // padding rows never decode to text
            cut[i] = i < stored && (t == TYPE_CONTROL || t == TYPE_UNKNOWN);
            userDefined[i] = i < stored && t == TYPE_USER_DEFINED;
        }
        SpecialTokens specials = SpecialTokens.of(tokens, cut, userDefined);
        try {
            switch (model) {
                case "llama": {
                    double[] scores = f.getDoubles("tokenizer.ggml.scores");
                    if (scores != null && scores.length != f.getStrings("tokenizer.ggml.tokens").length) {
                        throw new ModelFormatException(f.path() + ": tokenizer.ggml.scores has " + scores.length + " entries");
                    }
                    byte[][] pieces = new byte[vocabSize][];
                    float[] sc = new float[vocabSize];
                    for (int i = 0; i < vocabSize; i++) {
                        pieces[i] = tokens[i].replace(SPM_SPACE, " ").getBytes(StandardCharsets.UTF_8);
                        sc[i] = scores != null && i < scores.length ? (float) scores[i] : 0f;
                        if (!Float.isFinite(sc[i])) {
                            throw new ModelFormatException(f.path() + ": token " + i + " has a non-finite score");
                        }
                    }
                    boolean addPrefix = f.getBool("tokenizer.ggml.add_space_prefix", true);
                    return new Llama2Tokenizer(pieces, sc, f.getBool("tokenizer.ggml.add_bos_token", true) ? bos : -1,
                            eos, addPrefix, control, specials);
                }
                case "gpt2": {
                    String[] merges = f.getStrings("tokenizer.ggml.merges");
                    if (merges == null) {
                        throw new ModelFormatException(f.path() + ": a gpt2 tokenizer needs 'tokenizer.ggml.merges'");
                    }
                    String preName = f.getString("tokenizer.ggml.pre", "default");
                    PreTokenizerPattern pre = PreTokenizerPattern.byGgufName(preName);
                    if (pre == null) {
                        LOG.warning(f.path() + ": pre-tokenizer '" + preName + "' is unknown; using GPT-2's regex");
                        pre = PreTokenizerPattern.GPT2;
                    }
                    boolean[] special = control.clone();
                    if (types != null) {
                        for (int i = 0; i < types.length; i++) special[i] |= types[i] == TYPE_USER_DEFINED;
                    }
                    boolean addBos = f.getBool("tokenizer.ggml.add_bos_token", pre == PreTokenizerPattern.LLAMA3);
                    return new BpeTokenizer(tokens, merges, pre, special, userDefined, bos, eos, addBos, pre == PreTokenizerPattern.LLAMA3);
                }
                default:
                    throw new ModelFormatException(f.path() + ": tokenizer model '" + model + "' is not supported (supported: llama, gpt2)");
            }
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(f.path() + ": tokenizer: " + e.getMessage());
        }
    }

    private static int tokenId(GgufFile f, String key, int vocabSize) throws ModelFormatException {
        long id = f.getLong(key, -1);
        if (id < -1 || id >= vocabSize) {
            throw new ModelFormatException(f.path() + ": " + key + " = " + id + " is outside the vocabulary of " + vocabSize);
        }
        return (int) id;
    }
}
