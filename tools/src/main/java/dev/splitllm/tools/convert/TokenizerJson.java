package dev.splitllm.tools.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.engine.ModelFormatException;
import dev.splitllm.engine.tokenizer.BpeTokenizer;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import dev.splitllm.engine.tokenizer.PreTokenizerPattern;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.logging.Logger;

/**
 * A Hugging Face {@code tokenizer.json} for a byte-level BPE vocabulary, in the shape Qwen2 and
 * Llama 3 ship: a {@code Split} on the pre-tokenizer regex (isolated) followed by
 * {@code ByteLevel} without its own regex, a BPE model with the vocabulary and merges, the
 * special tokens as added tokens, and a {@code ByteLevel} decoder; or, for a SentencePiece-style
 * vocabulary, the shape of Llama 2's (see {@link #of(Llama2Tokenizer)}). {@link #readBpe} reads a byte-level
 * file back into a {@link BpeTokenizer} (so a Hugging Face model's vocabulary can go into GGUF).
 */
public final class TokenizerJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = Logger.getLogger(TokenizerJson.class.getName());

    private TokenizerJson() {}

    public static ObjectNode of(BpeTokenizer t) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < t.vocabSize(); i++) {
            if (t.isSpecial(i)) {
                added.addObject().put("id", i).put("content", t.token(i)).put("single_word", false).put("lstrip", false)
                        .put("rstrip", false).put("normalized", false).put("special", true);
            }
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode seq = pre.putArray("pretokenizers");
        ObjectNode split = seq.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", t.preTokenizer().regex);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        seq.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false).put("use_regex", false);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false).put("use_regex", false);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", t.ignoresMerges());
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < t.vocabSize(); i++) {
            if (!t.isSpecial(i)) vocab.put(t.token(i), i);
        }
        ArrayNode merges = model.putArray("merges");
        for (String m : t.merges()) merges.add(m);
        return root;
    }

    /**
     * A Llama-2-style {@code tokenizer.json} for a SentencePiece-style vocabulary: normalizer
     * (prepend {@code ▁}, spaces to {@code ▁}), a BPE model with byte fallback whose merges are
     * every split of every piece into two pieces, ranked by the merged piece's score (highest
     * first, then id), as Hugging Face's {@code SentencePieceExtractor} derives them; a BOS
     * post-processor and the matching decoder.
     */
    public static ObjectNode of(Llama2Tokenizer t) {
        int n = t.vocabSize();
        String[] pieces = new String[n];
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < n; i++) {
            pieces[i] = new String(t.piece(i), StandardCharsets.UTF_8).replace(" ", "\u2581");
            ids.putIfAbsent(pieces[i], i);
        }
        List<int[]> merges = new ArrayList<>(); // {merged id, left id, right id}
        for (int i = 0; i < n; i++) {
            String p = pieces[i];
            if (t.isControl(i) || p.length() < 2 || (p.startsWith("<0x") && p.length() == 6)) continue;
            for (int k = 1; k < p.length(); k++) {
                if (Character.isLowSurrogate(p.charAt(k))) continue;
                Integer l = ids.get(p.substring(0, k)), r = ids.get(p.substring(k));
                if (l != null && r != null) merges.add(new int[] {i, l, r});
            }
        }
        merges.sort((a, b) -> {
            int c = Float.compare(t.score(b[0]), t.score(a[0]));
            if (c != 0) return c;
            c = Integer.compare(a[0], b[0]);
            return c != 0 ? c : Integer.compare(a[1], b[1]);
        });
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < n; i++) {
            if (t.isControl(i) || pieces[i].equals("<unk>")) {
                added.addObject().put("id", i).put("content", pieces[i]).put("single_word", false).put("lstrip", false)
                        .put("rstrip", false).put("normalized", false).put("special", true);
            }
        }
        ObjectNode norm = root.putObject("normalizer");
        norm.put("type", "Sequence");
        ArrayNode ns = norm.putArray("normalizers");
        if (t.addSpacePrefix()) ns.addObject().put("type", "Prepend").put("prepend", "\u2581");
        ObjectNode rep = ns.addObject().put("type", "Replace");
        rep.putObject("pattern").put("String", " ");
        rep.put("content", "\u2581");
        root.putNull("pre_tokenizer");
        if (t.bos() >= 0) {
            ObjectNode post = root.putObject("post_processor");
            post.put("type", "TemplateProcessing");
            String bos = pieces[t.bos()];
            ArrayNode single = post.putArray("single");
            single.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            ArrayNode pair = post.putArray("pair");
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 1);
            pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
            ObjectNode sp = post.putObject("special_tokens").putObject(bos);
            sp.put("id", bos);
            sp.putArray("ids").add(t.bos());
            sp.putArray("tokens").add(bos);
        } else {
            root.putNull("post_processor");
        }
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "Sequence");
        ArrayNode ds = dec.putArray("decoders");
        ObjectNode drep = ds.addObject().put("type", "Replace");
        drep.putObject("pattern").put("String", "\u2581");
        drep.put("content", " ");
        ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        if (t.addSpacePrefix()) ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        int unk = ids.getOrDefault("<unk>", -1);
        if (unk >= 0) model.put("unk_token", "<unk>"); else model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < n; i++) {
            if (!vocab.has(pieces[i])) vocab.put(pieces[i], i);
        }
        ArrayNode m = model.putArray("merges");
        for (int[] e : merges) m.add(pieces[e[1]] + " " + pieces[e[2]]);
        return root;
    }

    /**
     * A byte-level BPE {@code tokenizer.json} as a {@link BpeTokenizer}, or null when the file holds
     * another kind of tokenizer (e.g. SentencePiece-style BPE with byte fallback).
     */
    public static BpeTokenizer readBpe(Path file, int vocabSize, int bos, int eos) throws IOException {
        if (Files.size(file) > (256L << 20)) {
            throw new ModelFormatException(file + ": too large for a tokenizer.json");
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ModelFormatException(file + ": not valid JSON: " + e.getMessage());
        }
        JsonNode model = root.path("model");
        String text = root.path("pre_tokenizer").toString();
        if (!model.path("type").asText("").equals("BPE") || !text.contains("\"ByteLevel\"") || !model.path("vocab").isObject()) {
            return null;
        }
        String[] tokens = new String[vocabSize];
        boolean[] special = new boolean[vocabSize];
        for (Iterator<Map.Entry<String, JsonNode>> it = model.path("vocab").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = e.getValue().asInt(-1);
            if (id < 0 || id >= vocabSize) throw new ModelFormatException(file + ": token id " + id + " outside the vocabulary of " + vocabSize);
            tokens[id] = e.getKey();
        }
        for (JsonNode a : root.path("added_tokens")) {
            int id = a.path("id").asInt(-1);
            if (id < 0 || id >= vocabSize) throw new ModelFormatException(file + ": added token id " + id + " outside the vocabulary");
            tokens[id] = a.path("content").asText("");
            special[id] = true;
        }
        for (int i = 0; i < vocabSize; i++) {
            if (tokens[i] == null) {
                tokens[i] = "[PAD" + i + "]";
                special[i] = true;
            }
        }
        JsonNode mergesNode = model.path("merges");
        String[] merges = new String[mergesNode.size()];
        for (int i = 0; i < merges.length; i++) {
            JsonNode m = mergesNode.get(i);
            merges[i] = m.isArray() ? m.path(0).asText() + " " + m.path(1).asText() : m.asText();
        }
        PreTokenizerPattern pre = null;
        for (PreTokenizerPattern p : PreTokenizerPattern.values()) {
            if (text.contains(JSON.writeValueAsString(p.regex))) pre = p;
        }
        if (pre == null) {
            if (!text.contains("\"Split\"")) {
                pre = PreTokenizerPattern.GPT2; // ByteLevel with its built-in regex
            } else {
                LOG.warning(file + ": pre-tokenizer regex not recognised; using GPT-2's");
                pre = PreTokenizerPattern.GPT2;
            }
        }
        try {
            return new BpeTokenizer(tokens, merges, pre, special, bos, eos, false, model.path("ignore_merges").asBoolean(false));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
    }
}
