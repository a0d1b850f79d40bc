package dev.splitllm.quantization.protocol;

/**
 * Response of {@code POST /v1/completions}.
 *
 * @param text         the generated continuation (prompt excluded)
 * @param tokens       generated token ids
 * @param promptTokens prompt length in tokens, BOS included
 * @param prefillMs    time of the batched prompt forward
 * @param decodeMs     time of all decode steps
 */
public record CompletionResponse(String text, int[] tokens, int promptTokens, double prefillMs, double decodeMs) {
}
