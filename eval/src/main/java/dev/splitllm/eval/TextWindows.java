package dev.splitllm.eval;

import dev.splitllm.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns prose into scored token windows, the convention of docs/MODEL.md ("Golden perplexities"):
 * paragraphs ({@link #paragraphs}) are tokenized without BOS (each with the tokenizer's dummy
 * space prefix) and
 * joined with token 13 ({@code <0x0A>}); the stream is cut to its first N tokens and into
 * windows of up to 255 tokens, each preceded by BOS, so every window fits the 256-token context.
 */
public final class TextWindows {
    /** The newline byte token that joins paragraphs. */
    public static final int NEWLINE = 13;
    /** Tokens per window after BOS. */
    public static final int WIDTH = 255;
    /** Most tokens a stream may hold. */
    public static final int MAX_TOKENS = 1 << 22;

    private TextWindows() {}

    /**
     * Paragraphs of {@code text}, exactly as the golden figures of docs/MODEL.md were made:
     * the text is split at every {@code "\n\n"}, newlines inside a piece become spaces, and
     * blank pieces are dropped. Pieces are not trimmed: a paragraph that followed three or more
     * newlines keeps a leading space (this matters: it reproduces PPL 397.1 on Pride and
     * Prejudice, where trimming gives 401.9).
     */
    public static List<String> paragraphs(String text) {
        List<String> out = new ArrayList<>();
        for (String piece : text.split("\n\n")) {
            String p = piece.replace('\n', ' ');
            if (!p.isBlank()) {
                out.add(p);
            }
        }
        return out;
    }

    /** The first {@code maxTokens} tokens of the paragraphs, tokenized without BOS and joined by {@link #NEWLINE}. */
    public static int[] stream(Tokenizer tokenizer, List<String> paragraphs, int maxTokens) {
        if (maxTokens < 1 || maxTokens > MAX_TOKENS) {
            throw new IllegalArgumentException("token count must be in 1.." + MAX_TOKENS + ", got " + maxTokens);
        }
        int[] out = new int[maxTokens];
        int n = 0;
        for (String p : paragraphs) {
            if (n > 0) {
                out[n++] = NEWLINE;
                if (n == maxTokens) {
                    break;
                }
            }
            int[] ids = tokenizer.encode(p, false);
            int k = Math.min(ids.length, maxTokens - n);
            System.arraycopy(ids, 0, out, n, k);
            n += k;
            if (n == maxTokens) {
                break;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** Windows of up to {@link #WIDTH} tokens of {@code stream}, each with {@code bos} in front. */
    public static List<int[]> windows(int[] stream, int bos) {
        List<int[]> out = new ArrayList<>();
        for (int at = 0; at < stream.length; at += WIDTH) {
            int k = Math.min(WIDTH, stream.length - at);
            int[] w = new int[k + 1];
            w[0] = bos;
            System.arraycopy(stream, at, w, 1, k);
            out.add(w);
        }
        return out;
    }
}
