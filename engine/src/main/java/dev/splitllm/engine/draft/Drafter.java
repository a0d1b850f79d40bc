package dev.splitllm.engine.draft;

/**
 * Guesses the tokens after a history on the edge, so that the cloud can verify several of them in
 * one round trip (speculation across the cut, docs/PROTOCOL.md "Speculation"). A drafter only
 * proposes: the cloud's verification decides, so a poor guess costs speed, never correctness.
 *
 * <p>The edge calls {@link #score} once per drafted position, with the history so far (the
 * accepted tokens, then the drafts of this step) and the hidden state at the cut of the history's
 * last token, which the edge has just computed anyway. Histories of successive calls may shrink
 * (the cloud rejected drafts): a drafter with state keyed by position (a draft model's KV cache)
 * must resynchronise to the longest common prefix. Not thread-safe: one session, one caller.
 */
public interface Drafter extends AutoCloseable {

    /** Short name for logs and summary lines: "exit-head", "ngram", "model". */
    String name();

    /**
     * Scores the token that follows {@code history[0, length)} into {@code logits} (vocab floats;
     * only their order and, when sampling, their softmax matter) and returns true; or returns false
     * when it has no guess (an n-gram miss), which ends drafting for this step.
     *
     * @param cutRow the hidden state at the cut of {@code history[length - 1]} (d floats), or null
     *               when the caller has none (offline measurement of drafters that do not need it)
     */
    boolean score(int[] history, int length, float[] cutRow, float[] logits);

    /** True when {@link #score} reads {@code cutRow} (the exit head); false lets a caller pass null. */
    default boolean needsCutRow() {
        return false;
    }

    /** Bytes this drafter holds for the session (weights, KV cache, tables), for the memory model. */
    long residentBytes();

    @Override
    default void close() {}
}
