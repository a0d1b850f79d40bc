package dev.splitllm.eval;

/**
 * One measured sequence and the unsplit fp32 model's view of it: the tokens the split path
 * sends (rows [0, prefill) as one prefill frame, every later row as a one-token decode frame,
 * as the runtime sends them), the scored positions [from, from + scored()), the sequence's
 * actual next token at each of them, and the fp32 logits there ({@code logits[i*vocab + v]}
 * scores token v at scored position i). Made by {@link SplitEvaluator#reference(int[], int)}
 * (a greedy fp32 continuation of a prompt) or {@link SplitEvaluator#text(int[], int)} (a given text).
 */
public final class Reference {
    private final int[] tokens;
    private final int prefill;
    private final int from;
    private final int[] next;
    private final int[] fp32Argmax;
    private final float[] logits;
    private final int vocab;

    Reference(int[] tokens, int prefill, int from, int[] next, int[] fp32Argmax, float[] logits, int vocab) {
        if (prefill < 1 || prefill > tokens.length || from < 0 || from + next.length > tokens.length
                || fp32Argmax.length != next.length || logits.length != (long) next.length * vocab) {
            throw new IllegalArgumentException("inconsistent reference: " + tokens.length + " tokens, prefill " + prefill
                    + ", scored from " + from + " x " + next.length);
        }
        this.tokens = tokens.clone();
        this.prefill = prefill;
        this.from = from;
        this.next = next.clone();
        this.fp32Argmax = fp32Argmax.clone();
        this.logits = logits;
        this.vocab = vocab;
    }

    /** The tokens of the prefill frame (the prompt). */
    public int[] prompt() {
        return java.util.Arrays.copyOf(tokens, prefill);
    }

    /** The actual next token at every scored position (for a greedy reference: the fp32 continuation). */
    public int[] generated() {
        return next.clone();
    }

    /** Scored positions. */
    public int length() {
        return next.length;
    }

    /** Every token sent through the split path. */
    int[] tokens() {
        return tokens;
    }

    int prefill() {
        return prefill;
    }

    int from() {
        return from;
    }

    int nextAt(int i) {
        return next[i];
    }

    int fp32ArgmaxAt(int i) {
        return fp32Argmax[i];
    }

    float[] logits() {
        return logits;
    }

    int vocab() {
        return vocab;
    }
}
