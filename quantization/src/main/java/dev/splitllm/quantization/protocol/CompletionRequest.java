package dev.splitllm.quantization.protocol;

/** Body of {@code POST /v1/completions}: a cloud-only completion for clients with no edge half. */
public record CompletionRequest(String prompt, int maxTokens, float temperature, float topP, long seed) {
}
