package dev.splitllm.chat;

import dev.splitllm.engine.gguf.GgufFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/**
 * The token ids that end an assistant turn, as llama.cpp collects its end-of-generation set:
 * {@code tokenizer.ggml.eos_token_id}, {@code .eot_token_id}, {@code .eom_token_id}, and control
 * tokens whose text is a known end-of-turn marker ({@code <|eot_id|>}, {@code <|im_end|>} ...).
 */
public final class EndOfTurn {
    private static final Set<String> MARKERS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
            "<|eom_id|>", "<|end_of_text|>", "<EOT>");

    private EndOfTurn() {}

    public static Set<Integer> ids(Path gguf) throws IOException {
        Set<Integer> out = new TreeSet<>();
        try (GgufFile f = GgufFile.open(gguf)) {
            for (String k : new String[] {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
                long id = f.getLong(k, -1);
                if (id >= 0) out.add((int) id);
            }
            String[] tokens = f.getStrings("tokenizer.ggml.tokens");
            long[] types = f.getLongs("tokenizer.ggml.token_type");
            if (tokens != null) {
                for (int i = 0; i < tokens.length; i++) {
                    boolean control = types == null || i >= types.length || types[i] == 3;
                    if (control && MARKERS.contains(tokens[i])) out.add(i);
                }
            }
        }
        return out;
    }
}
