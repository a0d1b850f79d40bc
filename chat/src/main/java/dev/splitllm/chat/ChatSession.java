package dev.splitllm.chat;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.TextStream;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A conversation with a local model: the history is rendered with the model's
 * {@link ChatTemplate} on every turn and encoded with special-token parsing; the KV cache is
 * kept for the prefix the new prompt shares with what was already run, so each turn runs only
 * the new tokens. A reply ends at an end-of-turn token ({@link EndOfTurn}), at the token limit,
 * or when the context is full.
 */
public final class ChatSession {
    private final Transformer model;
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final Set<Integer> stop;
    private final List<ChatMessage> history = new ArrayList<>();
    private SegmentState state;
    /** Tokens whose keys and values the state holds, in order. */
    private int[] cached = new int[0];

    public ChatSession(Transformer model, Tokenizer tokenizer, ChatTemplate template, Set<Integer> stop, String system) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.template = template;
        this.stop = stop;
        this.state = model.newState(model.config().seqLen());
        if (system != null && !system.isEmpty()) history.add(new ChatMessage("system", system));
    }

    public List<ChatMessage> history() {
        return List.copyOf(history);
    }

    /** Adds earlier turns without generating them (e.g. a conversation restored from elsewhere). */
    void preload(List<ChatMessage> past) {
        history.addAll(past);
    }

    /** The prompt tokens for the history plus the start of the assistant's turn. */
    int[] promptTokens() {
        String text = template.render(history, true);
        boolean bosInText = !template.bosToken().isEmpty() && text.startsWith(template.bosToken());
        return tokenizer.encode(text, !bosInText, true);
    }

    /** Adds the user's turn, generates the assistant's reply (streamed to onText), keeps it in the history. */
    public String reply(String user, int maxTokens, Sampler sampler, Consumer<String> onText) {
        history.add(new ChatMessage("user", user));
        int[] prompt = promptTokens();
        int ctx = state.capacity();
        if (prompt.length >= ctx) {
            history.remove(history.size() - 1);
            throw new IllegalArgumentException("the conversation is " + prompt.length + " tokens; the context holds " + ctx);
        }
        int common = 0;
        while (common < Math.min(cached.length, prompt.length) - 1 && cached[common] == prompt[common]) common++;
        try {
            state.truncate(common);
        } catch (IllegalArgumentException e) { // a sliding-window ring cannot rewind that far: start over
            state = model.newState(ctx);
            common = 0;
        }
        int[] fresh = Arrays.copyOfRange(prompt, common, prompt.length);
        float[] x = model.embed(fresh);
        model.forward(state, x, fresh.length);
        float[] logits = model.lastLogits(x, fresh.length);
        int[] all = Arrays.copyOf(prompt, ctx);
        int n = prompt.length;
        TextStream text = new TextStream(tokenizer);
        StringBuilder reply = new StringBuilder();
        for (int i = 0; i < maxTokens && n < ctx; i++) {
            int next = sampler.sample(logits);
            if (stop.contains(next)) break;
            all[n++] = next;
            String piece = text.next(next);
            reply.append(piece);
            onText.accept(piece);
            if (n >= ctx) break;
            x = model.embed(new int[] {next});
            model.forward(state, x, 1);
            logits = model.lastLogits(x, 1);
        }
        String tail = text.flush();
        reply.append(tail);
        onText.accept(tail);
        cached = Arrays.copyOf(all, state.length());
        history.add(new ChatMessage("assistant", reply.toString()));
        return reply.toString();
    }
}
