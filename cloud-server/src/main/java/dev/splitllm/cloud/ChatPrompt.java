package dev.splitllm.cloud;

import dev.splitllm.engine.tokenizer.Tokenizer;
import java.util.List;

/**
 * Turns chat messages into the prompt tokens the model continues, and says which tokens end the
 * assistant's turn. A model with a chat template uses {@link TemplateChatPrompt} (the same
 * template path as {@code ./splitllm chat}); {@link #CONCATENATED} serves llama2.c models, which
 * have none.
 */
public interface ChatPrompt {

    /** One chat message: role ("system", "user", "assistant", ...) and its text. */
    record Message(String role, String content) {}

    /** The prompt tokens for these messages followed by the start of the assistant's turn. */
    int[] encode(List<Message> messages, Tokenizer tokenizer);

    /** True when {@code token} ends the assistant's turn (besides the tokenizer's EOS and BOS). */
    default boolean endsTurn(int token) {
        return false;
    }

    /**
     * The fallback for models with no chat template: the messages' contents joined with a space,
     * roles dropped, BOS first. A story model like stories15M continues the text it is given, so
     * the user's words become the start of the story.
     */
    ChatPrompt CONCATENATED = (messages, tokenizer) -> {
        StringBuilder sb = new StringBuilder();
        for (Message m : messages) {
            String c = m.content().strip();
            if (c.isEmpty()) continue;
            if (sb.length() > 0) sb.append(' ');
            sb.append(c);
        }
        return sb.length() == 0 ? new int[0] : tokenizer.encode(sb.toString(), true);
    };
}
