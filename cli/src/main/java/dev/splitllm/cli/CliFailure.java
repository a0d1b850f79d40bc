package dev.splitllm.cli;

/**
 * A runtime failure whose message is already a complete, one-line explanation for the user
 * (exit code 1). Usage mistakes are picocli {@code ParameterException}s instead (exit code 2).
 */
public final class CliFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CliFailure(String message) {
        super(message);
    }

    public CliFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
