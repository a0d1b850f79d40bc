package dev.splitllm.quantization.protocol;

/**
 * The last line of a cloud-only token stream ({@code POST /v1/sessions/{id}/handoff}, {@code GET
 * /v1/sessions/{id}/tokens}).
 *
 * @param stop   why the cloud stopped: {@code eos}, {@code max_tokens}, {@code context_full},
 *               {@code restored} (an edge took the session back), {@code closed}
 * @param tokens tokens the session has generated in all (edge steps and cloud alone)
 */
public record GenerationEnd(String type, String stop, int tokens) {
    public static final String TYPE = "end";

    public GenerationEnd(String stop, int tokens) {
        this(TYPE, stop, tokens);
    }
}
