package dev.splitllm.quantization.protocol;

/**
 * An error, as a REST response body (with a 4xx/5xx status) or a downlink text message.
 *
 * @param type    always "error"
 * @param code    machine-readable reason, e.g. "bad_frame", "bad_step", "unauthorized", "limit"
 * @param message what went wrong, for people
 * @param step    the step it concerns, or -1
 * @param fatal   true when the session cannot continue (the socket is closed after it)
 */
public record ErrorMessage(String type, String code, String message, long step, boolean fatal) {
    public static final String TYPE = "error";

    public ErrorMessage(String code, String message, long step, boolean fatal) {
        this(TYPE, code, message, step, fatal);
    }

    public static ErrorMessage of(String code, String message) {
        return new ErrorMessage(code, message, -1, false);
    }
}
