package dev.splitllm.engine.hf.djl;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.engine.ModelFormatException;
import dev.splitllm.engine.tokenizer.ByteLevelMapping;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} through DJL's tokenizers (the Rust library): encoding is
 * DJL's; per-token decoding uses the vocabulary read from the same file, so streamed text is
 * byte-exact (byte-level BPE tokens through {@link ByteLevelMapping}; SentencePiece-style ones
 * with {@code ▁} for a space and {@code <0xHH>} byte fallback).
 *
 * <p>The only class of the engine that touches DJL, loaded reflectively by
 * {@code HfTokenizers}. DJL must run with {@code ai.djl.offline=true} and
 * {@code OPT_OUT_TRACKING=true}; {@link #open} sets both system properties if they are unset.
 */
public final class DjlTokenizer implements Tokenizer, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer hf;
    private final String[] tokens;
    private final boolean[] special;
    private final boolean byteLevel;
    private final int bos;
    private final int eos;

    private DjlTokenizer(HuggingFaceTokenizer hf, String[] tokens, boolean[] special, boolean byteLevel, int bos, int eos) {
        this.hf = hf;
        this.tokens = tokens;
        this.special = special;
        this.byteLevel = byteLevel;
        this.bos = bos;
        this.eos = eos;
    }

    /** Opens {@code tokenizerJson} for a model of {@code vocabSize} ids. */
    public static DjlTokenizer open(Path tokenizerJson, int vocabSize, int bos, int eos) throws IOException {
        if (System.getProperty("ai.djl.offline") == null) System.setProperty("ai.djl.offline", "true");
        if (System.getProperty("OPT_OUT_TRACKING") == null) System.setProperty("OPT_OUT_TRACKING", "true");
        long size = Files.size(tokenizerJson);
        if (size > (256L << 20)) {
            throw new ModelFormatException(tokenizerJson + ": " + size + " bytes is too large for a tokenizer.json");
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(tokenizerJson));
        } catch (IOException e) {
            throw new ModelFormatException(tokenizerJson + ": not valid JSON: " + e.getMessage());
        }
        String[] tokens = new String[vocabSize];
        boolean[] special = new boolean[vocabSize];
        JsonNode vocab = root.path("model").path("vocab");
        if (!vocab.isObject()) {
            throw new ModelFormatException(tokenizerJson + ": model.vocab is not an object (only BPE tokenizers are supported)");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            put(tokenizerJson, tokens, e.getValue().asInt(-1), e.getKey());
        }
        for (JsonNode a : root.path("added_tokens")) {
            int id = a.path("id").asInt(-1);
            put(tokenizerJson, tokens, id, a.path("content").asText(""));
            special[id] = a.path("special").asBoolean(false);
        }
        for (int i = 0; i < vocabSize; i++) {
            if (tokens[i] == null) tokens[i] = "";
        }
        boolean byteLevel = root.path("decoder").path("type").asText("").equals("ByteLevel")
                || root.toString().contains("\"ByteLevel\"");
        HuggingFaceTokenizer hf = HuggingFaceTokenizer.builder()
                .optTokenizerPath(tokenizerJson)
                .optAddSpecialTokens(false)
                .optTruncation(false)
                .optPadding(false)
                .build();
        return new DjlTokenizer(hf, tokens, special, byteLevel, bos, eos);
    }

    private static void put(Path file, String[] tokens, int id, String token) throws ModelFormatException {
        if (id < 0 || id >= tokens.length) {
            throw new ModelFormatException(file + ": token '" + token + "' has id " + id + ", outside the model's vocabulary of " + tokens.length);
        }
        tokens[id] = token;
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    /** Token ids as DJL produces them; {@code addBos} turns on the tokenizer's post-processor (special tokens). */
    @Override
    public int[] encode(String text, boolean addBos) {
        long[] ids = hf.encode(text, addBos, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = (int) ids[i];
        return out;
    }

    /**
     * Hugging Face's tokenizer always matches added (special) tokens written in the text, so only
     * {@code parseSpecial = true} can be honoured.
     */
    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        if (!parseSpecial) {
            throw new UnsupportedOperationException("the Hugging Face tokenizer always parses special tokens in text");
        }
        return encode(text, addBos);
    }

    /** DJL's own decoding of a whole sequence. */
    public String decodeWithDjl(int[] ids, boolean skipSpecial) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        return hf.decode(l, skipSpecial);
    }

    @Override
    public byte[] decodeBytes(int previous, int token) {
        if (token < 0 || token >= tokens.length) {
            throw new IllegalArgumentException("token id " + token + " outside the vocabulary [0, " + tokens.length + ")");
        }
        if (special[token] || token == bos || token == eos) {
            return new byte[0];
        }
        String t = tokens[token];
        if (byteLevel) {
            return ByteLevelMapping.decode(t);
        }
        if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
            return new byte[] {(byte) Integer.parseInt(t.substring(3, 5), 16)};
        }
        String s = t.replace('\u2581', ' ');
        if (previous == bos && bos >= 0 && s.startsWith(" ")) s = s.substring(1);
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        hf.close();
    }
}
