package dev.splitllm.engine.draft;

import java.util.Arrays;

/**
 * Drafts by lookup in the session's own history (prompt and generated tokens): finds the most
 * recent earlier occurrence of the longest suffix of the history (up to {@link #MAX_N} tokens) and
 * proposes the token that followed it. No weights, no memory beyond the history the edge already
 * holds; it guesses well on repetitive text (names, refrains, code) and not at all elsewhere.
 */
public final class NgramDrafter implements Drafter {
    /** Longest suffix matched. */
    public static final int MAX_N = 4;
    /** Shortest suffix worth trusting: a single repeated token ("the", ".") predicts little. */
    public static final int MIN_N = 2;

    @Override
    public String name() {
        return "ngram";
    }

    @Override
    public boolean score(int[] history, int length, float[] cutRow, float[] logits) {
        int next = guess(history, length);
        if (next < 0 || next >= logits.length) return false;
        Arrays.fill(logits, Float.NEGATIVE_INFINITY);
        logits[next] = 0f;
        return true;
    }

    /** The token after the latest earlier match of the longest suffix, or -1. */
    static int guess(int[] h, int length) {
        for (int n = Math.min(MAX_N, length - 1); n >= MIN_N; n--) {
            // latest start s < length - n with h[s, s+n) == h[length-n, length)
            for (int s = length - n - 1; s >= 0; s--) {
                boolean same = true;
                for (int j = 0; j < n && same; j++) same = h[s + j] == h[length - n + j];
                if (same) return h[s + n];
            }
        }
        return -1;
    }

    @Override
    public long residentBytes() {
        return 0;
    }
}
