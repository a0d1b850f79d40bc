package dev.splitllm.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.FatalTemplateErrorsException;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.splitllm.engine.gguf.GgufFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template (GGUF {@code tokenizer.chat_template}, a Hugging Face Jinja template)
 * rendered with Jinjava, with the context Hugging Face's {@code apply_chat_template} gives:
 * {@code messages}, {@code bos_token}, {@code eos_token}, {@code add_generation_prompt} and
 * {@code raise_exception}; blocks trimmed as there ({@code trim_blocks}, {@code lstrip_blocks}).
 * The rendered prompt holds special tokens as text: encode it with special parsing on.
 */
public final class ChatTemplate {
    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinja;

    public ChatTemplate(String source, String bosToken, String eosToken) {
        this.source = source;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.jinja = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
    }

    /** The template of a GGUF file with its BOS/EOS texts, or null when it has none. */
    public static ChatTemplate fromGguf(Path gguf) throws IOException {
        try (GgufFile f = GgufFile.open(gguf)) {
            String src = f.getString("tokenizer.chat_template", null);
            if (src == null) return null;
            String[] tokens = f.getStrings("tokenizer.ggml.tokens");
            return new ChatTemplate(src, text(tokens, f.getLong("tokenizer.ggml.bos_token_id", -1)),
                    text(tokens, f.getLong("tokenizer.ggml.eos_token_id", -1)));
        }
    }

    private static String text(String[] tokens, long id) {
        return tokens == null || id < 0 || id >= tokens.length ? "" : tokens[(int) id];
    }

    public String source() {
        return source;
    }

    public String bosToken() {
        return bosToken;
    }

    public String eosToken() {
        return eosToken;
    }

    /** The prompt text for {@code messages}; with {@code addGenerationPrompt} it ends where the assistant's reply starts. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (ChatMessage m : messages) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("role", m.role());
            e.put("content", m.content());
            msgs.add(e);
        }
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", msgs);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        try {
            return jinja.render(source, ctx);
        } catch (FatalTemplateErrorsException e) {
            throw new IllegalArgumentException("chat template failed: " + e.getMessage(), e);
        }
    }

    /** The template's {@code raise_exception(message)}. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException("chat template: " + message);
    }
}
