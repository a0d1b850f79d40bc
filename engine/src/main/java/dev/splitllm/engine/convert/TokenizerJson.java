package dev.splitllm.engine.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.engine.tokenizer.BpeTokenizer;

/**
 * A Hugging Face {@code tokenizer.json} for a byte-level BPE vocabulary, in the shape Qwen2 and
 * Llama 3 ship: a {@code Split} on the pre-tokenizer regex (isolated) followed by
 * {@code ByteLevel} without its own regex, a BPE model with the vocabulary and merges, the
 * special tokens as added tokens, and a {@code ByteLevel} decoder.
 */
public final class TokenizerJson {
    private static final ObjectMapper JSON = new ObjectMapper();

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
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < t.vocabSize(); i++) {
            if (!t.isSpecial(i)) vocab.put(t.token(i), i);
        }
        ArrayNode merges = model.putArray("merges");
        for (String m : t.merges()) merges.add(m);
        return root;
    }
}
