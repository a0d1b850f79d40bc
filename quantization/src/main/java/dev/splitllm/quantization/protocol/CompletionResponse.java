package dev.splitllm.quantization.protocol;

/**
 * Response of {@code POST /v1/completions}.
 *
 * @param text         the generated continuation (prompt excluded)
 * @param tokens       generated token ids
 * @param promptTokens prompt length in tokens, BOS included
 * @param elapsedMs    model time: the batched prompt forward and every decode step
 */
public record CompletionResponse(String text, int[] tokens, int promptTokens, double elapsedMs) {
}
