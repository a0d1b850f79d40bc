package dev.splitllm.quantization.codec;

/**
 * A payload or byte stream that does not follow the format: truncated, a field out of range, or
 * trailing bytes. Checked, so that every caller that reads untrusted bytes has to handle it.
 */
public class CorruptPayloadException extends Exception {
    private static final long serialVersionUID = 1L;

    /** A payload error with a human-readable description. */
    public CorruptPayloadException(String message) {
        super(message);
    }
}
