package dev.splitllm.cloud;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The one JSON error body of every refusal, whoever refuses: our handlers ({@link ApiException}),
 * Javalin's router (404, 405, 413) and Jetty's parser (400, 414, 431), via {@link JettyErrors}.
 * Shape: {@code {"type":"error","code":...,"message":...,"step":-1,"fatal":false}} plus the
 * numbers of a limit when there are some.
 */
final class JsonErrors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonErrors() {}

    /** The error code of an HTTP status that no handler named more precisely. */
    static String codeFor(int status) {
        return switch (status) {
            case 400 -> "bad_request";
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 408 -> "timeout";
            case 413 -> "too_large";
            case 414 -> "uri_too_long";
            case 415 -> "unsupported_media_type";
            case 429 -> "limit";
            case 431 -> "headers_too_large";
            case 503 -> "limit";
            default -> status >= 500 ? "internal" : "http_" + status;
        };
    }

    static String body(String code, String message, Map<String, Object> details) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "error");
        m.put("code", code);
        m.put("message", message);
        m.put("step", -1);
        m.put("fatal", false);
        m.putAll(details);
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String body(int status, String message) {
        return body(codeFor(status), message == null || message.isBlank() ? "HTTP " + status : message, Map.of());
    }

    /** Jetty's own error pages (bad request lines, URI or headers too long, servlet errors) as JSON. */
    static final class JettyErrors extends ErrorHandler {
        @Override
        protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
                                        Callback callback) {
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, ByteBuffer.wrap(body(code, message).getBytes(StandardCharsets.UTF_8)), callback);
        }

        @Override
        public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
            fields.put(HttpHeader.CONTENT_TYPE, "application/json");
            return ByteBuffer.wrap(body(status, reason).getBytes(StandardCharsets.UTF_8));
        }
    }
}
