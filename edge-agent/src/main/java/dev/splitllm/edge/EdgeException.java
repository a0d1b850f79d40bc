package dev.splitllm.edge;

/** The edge could not complete a request: the server refused it, or the link failed for good. */
public class EdgeException extends RuntimeException {
    private final String code;

    public EdgeException(String code, String message) {
        super(message);
        this.code = code;
    }

    public EdgeException(String code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /** Machine-readable reason: the server's error code, or "link", "timeout", "protocol". */
    public String code() {
        return code;
    }
}
