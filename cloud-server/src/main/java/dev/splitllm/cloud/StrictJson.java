package dev.splitllm.cloud;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * Request bodies bound strictly: exactly one JSON object per body, no unknown or duplicate keys,
 * no {@code 3.7} or {@code "3"} for an int, no {@code null} for a number, no {@code null} body.
 * A lenient reading would run a request the client did not mean to send.
 */
final class StrictJson {
    /** Largest JSON request body. */
    static final int MAX_BYTES = 256 * 1024;

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    private StrictJson() {}

    /** The body as a {@code type}; 400 with the reason when it is anything else. */
    static <T> T parse(String body, Class<T> type) {
        String what = type.getSimpleName();
        if (body == null || body.isBlank()) {
            throw ApiException.badRequest("request body must be a JSON " + what + " object");
        }
        if (body.length() > MAX_BYTES) {
            throw new ApiException(413, "too_large", what + " body exceeds " + MAX_BYTES + " bytes");
        }
        T value;
        try {
            value = MAPPER.readValue(body, type);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("malformed " + what + ": " + e.getOriginalMessage());
        }
        if (value == null) {
            throw ApiException.badRequest("request body must be a JSON " + what + " object, not null");
        }
        return value;
    }
}
