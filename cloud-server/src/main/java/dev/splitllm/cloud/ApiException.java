package dev.splitllm.cloud;

import java.util.Map;

/**
 * A request the server refuses: becomes an HTTP status with a JSON error body
 * ({@code type, code, message, step, fatal}, plus {@link #details} when there are numbers to give).
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String code;
    private final Map<String, Object> details;
    private final int retryAfterSeconds;

    public ApiException(int status, String code, String message) {
        this(status, code, message, Map.of(), 0);
    }

    /**
     * @param details           extra fields of the JSON body (the numbers behind the refusal)
     * @param retryAfterSeconds sent as {@code Retry-After} when positive
     */
    public ApiException(int status, String code, String message, Map<String, Object> details, int retryAfterSeconds) {
        super(message, null, false, false); // refusals are routine: no stack trace to fill
        this.status = status;
        this.code = code;
        this.details = Map.copyOf(details);
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public Map<String, Object> details() {
        return details;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, "bad_request", message);
    }

    public static ApiException unauthorized() {
        return new ApiException(401, "unauthorized", "missing or invalid bearer token");
    }

    public static ApiException notFound(String what) {
        return new ApiException(404, "not_found", what);
    }
}
