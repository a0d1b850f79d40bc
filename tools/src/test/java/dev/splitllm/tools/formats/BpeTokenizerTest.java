package dev.splitllm.tools.formats;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.tools.convert.ModelConverter;
import dev.splitllm.tools.convert.TokenizerJson;
import dev.splitllm.engine.gguf.GgufValue;
import dev.splitllm.engine.gguf.GgufValueType;
import dev.splitllm.engine.gguf.GgufWriter;
import dev.splitllm.engine.hf.djl.DjlTokenizer;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.tokenizer.BpeTokenizer;
import dev.splitllm.engine.tokenizer.ByteLevelMapping;
import dev.splitllm.engine.tokenizer.PreTokenizerPattern;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Java byte-level BPE against Hugging Face tokenizers (the Rust library, through DJL) on a
 * vocabulary the test trains itself: ids and decoded text must be equal on a varied set of
 * texts. For GPT-2 the tokenizer.json uses the library's built-in {@code ByteLevel} regex, so
 * our Java regex is checked against theirs; for Qwen2 and Llama 3 the regex is spelled out.
 */
class BpeTokenizerTest {
    @TempDir
    Path tmp;

    static final String CORPUS = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. "
            + "I'm sure they'll say we've done it; don't you? THE END. 12345 apples cost 3.14 each, 2024-11-27. "
            + "café naïve résumé 日本語のテキスト 🙂🙂 emoji!!! ... \"quotes\" (parens) [brackets] {braces} #tag @user\n\n"
            + "    indented code();\n\tx = y + 1  # comment\r\n";

    static final String[] TEXTS = {"Once upon a time", "hello world", "I'M sure they'll DON'T we've", "12345678 3.14159",
            "café naïve 日本語 🙂", "a  b\n\n  c\t d   ", "!!! ... ???", " leading space", "trailing space ",
            "mixed<|endoftext|>special<|endoftext|>", "\r\n\r\n", "unseen words: zygote quixotic", ""};

    static final String SPECIAL = "<|endoftext|>";

    /** A deterministic BPE trained on CORPUS: tokens (256 bytes, merges, the special) and merges. */
    static String[][] train(PreTokenizerPattern pre, int nMerges) {
        Map<List<String>, Integer> words = new LinkedHashMap<>();
        Matcher m = pre.pattern().matcher(CORPUS);
        while (m.find()) {
            String w = ByteLevelMapping.encode(m.group());
            List<String> sym = new ArrayList<>();
            for (char c : w.toCharArray()) sym.add(String.valueOf(c));
            words.merge(sym, 1, Integer::sum);
        }
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevelMapping.charOf(b)));
        List<String> merges = new ArrayList<>();
        for (int k = 0; k < nMerges; k++) {
            Map<String, Integer> pairs = new HashMap<>();
            for (Map.Entry<List<String>, Integer> e : words.entrySet()) {
                List<String> s = e.getKey();
                for (int i = 0; i + 1 < s.size(); i++) pairs.merge(s.get(i) + " " + s.get(i + 1), e.getValue(), Integer::sum);
            }
            String best = null;
            for (Map.Entry<String, Integer> e : pairs.entrySet()) {
                if (best == null || e.getValue() > pairs.get(best) || (e.getValue().equals(pairs.get(best)) && e.getKey().compareTo(best) < 0)) {
                    best = e.getKey();
                }
            }
            if (best == null) break;
            merges.add(best);
            String[] lr = best.split(" ");
            tokens.add(lr[0] + lr[1]);
            Map<List<String>, Integer> next = new LinkedHashMap<>();
            for (Map.Entry<List<String>, Integer> e : words.entrySet()) {
                List<String> s = new ArrayList<>(e.getKey());
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(lr[0]) && s.get(i + 1).equals(lr[1])) {
                        s.set(i, lr[0] + lr[1]);
                        s.remove(i + 1);
                    }
                }
                next.merge(s, e.getValue(), Integer::sum);
            }
            words = next;
        }
        tokens.add(SPECIAL);
        return new String[][] {tokens.toArray(new String[0]), merges.toArray(new String[0])};
    }

    static BpeTokenizer java(String[][] tm, PreTokenizerPattern pre, boolean ignoreMerges) {
        boolean[] special = new boolean[tm[0].length];
        special[special.length - 1] = true;
        return new BpeTokenizer(tm[0], tm[1], pre, special, -1, special.length - 1, false, ignoreMerges);
    }

    /** A GPT-2 style tokenizer.json written by hand: the library's own ByteLevel pre-tokenizer regex. */
    static String gpt2Json(String[][] tm) throws Exception {
        ObjectMapper om = new ObjectMapper();
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int i = 0; i < tm[0].length - 1; i++) vocab.put(tm[0][i], i);
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("vocab", vocab);
        model.put("merges", tm[1]);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("added_tokens", List.of(Map.of("id", tm[0].length - 1, "content", SPECIAL, "single_word", false, "lstrip", false,
                "rstrip", false, "normalized", false, "special", true)));
        root.put("normalizer", null);
        root.put("pre_tokenizer", Map.of("type", "ByteLevel", "add_prefix_space", false, "trim_offsets", true, "use_regex", true));
        root.put("post_processor", null);
        root.put("decoder", Map.of("type", "ByteLevel", "add_prefix_space", false, "trim_offsets", true, "use_regex", true));
        root.put("model", model);
        return om.writeValueAsString(root);
    }

    void assertSame(Tokenizer ours, DjlTokenizer djl, String what) {
        for (String s : TEXTS) {
            int[] want = djl.encode(s, false);
            assertArrayEquals(want, ours.encode(s, false), what + ": ids of '" + s + "'");
            assertEquals(djl.decodeWithDjl(want, true), ours.decode(want), what + ": text of '" + s + "'");
            if (!s.contains(SPECIAL)) assertEquals(s, ours.decode(want), what + ": round trip");
        }
    }

    @Test
    void gpt2MatchesHuggingFaceTokenizers() throws Exception {
        String[][] tm = train(PreTokenizerPattern.GPT2, 300);
        Path json = Files.writeString(tmp.resolve("tokenizer.json"), gpt2Json(tm));
        try (DjlTokenizer djl = DjlTokenizer.open(json, tm[0].length, -1, tm[0].length - 1)) {
            assertSame(java(tm, PreTokenizerPattern.GPT2, false), djl, "gpt2");
        }
    }

    @ParameterizedTest
    @EnumSource(value = PreTokenizerPattern.class, names = {"QWEN2", "LLAMA3"})
    void splitRegexTokenizersMatchHuggingFaceTokenizers(PreTokenizerPattern pre) throws Exception {
        String[][] tm = train(pre, 300);
        BpeTokenizer ours = java(tm, pre, pre == PreTokenizerPattern.LLAMA3);
        Path json = tmp.resolve("tokenizer.json");
        new ObjectMapper().writeValue(json.toFile(), TokenizerJson.of(ours));
        try (DjlTokenizer djl = DjlTokenizer.open(json, tm[0].length, -1, tm[0].length - 1)) {
            assertSame(ours, djl, pre.name());
        }
    }

    @Test
    void ggufGpt2TokenizerSurvivesConversionToHuggingFace() throws Exception {
        String[][] tm = train(PreTokenizerPattern.QWEN2, 200);
        int vocab = tm[0].length;
        ReferenceModel ref = new ReferenceModel(32, 32, 1, 2, 1, vocab, true, true, true, 21);
        GgufWriter w = ref.gguf("qwen2");
        long[] types = new long[vocab];
        java.util.Arrays.fill(types, 1);
        types[vocab - 1] = 3;
        w.put("tokenizer.ggml.model", GgufValue.ofString("gpt2"));
        w.put("tokenizer.ggml.pre", GgufValue.ofString("qwen2"));
        w.put("tokenizer.ggml.tokens", GgufValue.ofStrings(tm[0]));
        w.put("tokenizer.ggml.merges", GgufValue.ofStrings(tm[1]));
        w.put("tokenizer.ggml.token_type", GgufValue.ofInts(GgufValueType.INT32, types));
        w.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(vocab - 1));
        Path gguf = tmp.resolve("bpe.gguf");
        w.write(gguf);
        Tokenizer fromGguf = ModelFiles.load(gguf, ModelSlice.edge(0)).tokenizer();
        assertTrue(fromGguf instanceof BpeTokenizer);
        Path hf = tmp.resolve("hf");
        ModelConverter.toSafetensors(gguf, hf, WeightFormat.F16);
        assertTrue(Files.isRegularFile(hf.resolve("tokenizer.json")));
        Tokenizer fromHf = ModelFiles.load(hf, ModelSlice.edge(0)).tokenizer();
        assertTrue(fromHf instanceof DjlTokenizer, "tokenizer.json is read through DJL: " + fromHf);
        for (String s : TEXTS) {
            assertArrayEquals(fromGguf.encode(s, false), fromHf.encode(s, false), s);
            assertEquals(fromGguf.decode(fromGguf.encode(s, false)), fromHf.decode(fromHf.encode(s, false)), s);
        }
        assertEquals(new String(fromHf.decodeBytes(-1, 300), StandardCharsets.UTF_8),
                new String(fromGguf.decodeBytes(-1, 300), StandardCharsets.UTF_8));
        ((DjlTokenizer) fromHf).close();
        // And back: HF directory -> GGUF q8_0 stores the byte-level vocabulary read from tokenizer.json.
        Path again = tmp.resolve("again.gguf");
        ModelConverter.toGguf(hf, again, WeightFormat.Q8_0);
        Tokenizer back = ModelFiles.load(again, ModelSlice.edge(0)).tokenizer();
        assertTrue(back instanceof BpeTokenizer, "GGUF from HF has a gpt2 tokenizer: " + back);
        assertEquals(PreTokenizerPattern.QWEN2, ((BpeTokenizer) back).preTokenizer());
        for (String s : TEXTS) {
            assertArrayEquals(fromGguf.encode(s, false), back.encode(s, false), s);
        }
    }
}
