package dev.splitllm.edge;

/** Receives generated tokens as they arrive. */
@FunctionalInterface
public interface TokenListener {

    /**
     * @param token the token id
     * @param text  the text it completes (may be empty while a UTF-8 character is split across tokens)
     * @param stats figures of the step that produced it
     */
    void onToken(int token, String text, StepStats stats);

    TokenListener NONE = (t, s, st) -> {};
}
