package dev.splitllm.cloud;

import dev.splitllm.chat.ChatMessage;
import dev.splitllm.chat.ChatTemplate;
import dev.splitllm.chat.EndOfTurn;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A model's own chat template (GGUF {@code tokenizer.chat_template}) for {@code /v1/chat/completions}:
 * the messages are rendered with the template, encoded with special-token parsing (BOS added only
 * when the template does not write it), and the model's end-of-turn tokens end the reply — the
 * same rules as {@code dev.splitllm.chat.ChatSession} behind {@code ./splitllm chat}.
 */
public final class TemplateChatPrompt implements ChatPrompt {
    private final ChatTemplate template;
    private final Set<Integer> endOfTurn;

    public TemplateChatPrompt(ChatTemplate template, Set<Integer> endOfTurn) {
        this.template = template;
        this.endOfTurn = Set.copyOf(endOfTurn);
    }

    /** The template of {@code gguf}, or {@link ChatPrompt#CONCATENATED} when the file has none. */
    public static ChatPrompt forGguf(Path gguf) throws IOException {
        ChatTemplate t = ChatTemplate.fromGguf(gguf);
        return t == null ? CONCATENATED : new TemplateChatPrompt(t, EndOfTurn.ids(gguf));
    }

    @Override
    public int[] encode(List<Message> messages, Tokenizer tokenizer) {
        List<ChatMessage> chat = new ArrayList<>(messages.size());
        for (Message m : messages) {
            // The templates know system, user and assistant; OpenAI's "developer" is a system message.
            chat.add(new ChatMessage(m.role().equals("developer") ? "system" : m.role(), m.content()));
        }
        String text = template.render(chat, true);
        boolean bosInText = !template.bosToken().isEmpty() && text.startsWith(template.bosToken());
        return tokenizer.encode(text, !bosInText, true);
    }

    @Override
    public boolean endsTurn(int token) {
        return endOfTurn.contains(token);
    }
}
