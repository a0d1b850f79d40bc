package dev.splitllm.quantization.protocol;

/**
 * One line of a cloud-only token stream (docs/PROTOCOL.md, "Hand-off and restore"): the
 * {@code index}-th token the session generated (counting from its first, edge steps included).
 */
public record CloudToken(String type, int index, int token) {
    public static final String TYPE = "cloud_token";

    public CloudToken(int index, int token) {
        this(TYPE, index, token);
    }
}
