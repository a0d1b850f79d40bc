package dev.splitllm.optimizer.profile;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * JSON reading and writing of the optimizer's data files (device profiles, link profiles,
 * calibration tables), strict: unknown and missing fields, nulls for numbers and wrong
 * schemas are errors that name the file and the field. Files larger than {@link #MAX_BYTES}
 * are refused before they are read. {@link #fingerprint} is the SHA-256 of the canonical
 * (sorted-key) JSON of a value, which plan files record for their inputs.
 */
public final class ProfileJson {
    private ProfileJson() {}

    /** Largest data file accepted. */
    public static final long MAX_BYTES = 16L << 20;

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .disable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .build();

    private static final ObjectMapper CANONICAL = JsonMapper.builder()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .build();

    /** The shared strict mapper. */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    public static DeviceProfile readDevice(Path file) throws IOException {
        return read(file, DeviceProfile.class, "device profile");
    }

    public static LinkProfile readLink(Path file) throws IOException {
        return read(file, LinkProfile.class, "link profile");
    }

    public static CalibrationTable readCalibration(Path file) throws IOException {
        return read(file, CalibrationTable.class, "calibration table");
    }

    /** Parses JSON text as {@code type}; {@code what} names it in errors. */
    public static <T> T parse(String json, Class<T> type, String what) {
        if (json.length() > MAX_BYTES) {
            throw new IllegalArgumentException(what + " is larger than " + MAX_BYTES + " bytes");
        }
        try {
            T v = MAPPER.readValue(json, type);
            if (v == null) {
                throw new IllegalArgumentException(what + ": empty document");
            }
            return v;
        } catch (JsonProcessingException e) {
            String m = message(e);
            throw new IllegalArgumentException(m.startsWith(what) ? m : what + ": " + m, e);
        }
    }

    /** Reads {@code file} as {@code type}, with the file name in every error. */
    public static <T> T read(Path file, Class<T> type, String what) throws IOException {
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new IllegalArgumentException(file + ": " + what + " is " + size + " bytes, more than the " + MAX_BYTES + " allowed");
        }
        String text = Files.readString(file, StandardCharsets.UTF_8);
        String actual = kindOf(text);
        String expected = type == DeviceProfile.class ? "device profile" : type == LinkProfile.class ? "link profile"
                : type == CalibrationTable.class ? "calibration table" : null;
        if (actual != null && expected != null && !actual.equals(expected)) {
            throw new IllegalArgumentException(file + " is a " + actual + ", not a " + expected + "; " + howToMake(expected));
        }
        try {
            return parse(text, type, what);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** "device profile", "link profile" or "calibration table" from the document's schema, or null. */
    static String kindOf(String json) {
        try {
            String schema = MAPPER.readTree(json).path("schema").asText("");
            if (schema.startsWith(DeviceProfile.SCHEMA.substring(0, DeviceProfile.SCHEMA.indexOf('/')))) return "device profile";
            if (schema.startsWith(LinkProfile.SCHEMA.substring(0, LinkProfile.SCHEMA.indexOf('/')))) return "link profile";
            if (schema.startsWith(CalibrationTable.SCHEMA.substring(0, CalibrationTable.SCHEMA.indexOf('/')))) return "calibration table";
        } catch (JsonProcessingException | RuntimeException e) {
            // not JSON, or no schema: the typed parse below says what is wrong
        }
        return null;
    }

    /** The command that makes a file of this kind. */
    public static String howToMake(String what) {
        switch (what) {
            case "device profile": return "make one with ./splitllm profile --name edge --out edge.json";
            case "link profile": return "make one with ./splitllm profile --link --uplink 10mbit --rtt 50ms --name lte --out link.json";
            case "calibration table": return "make one with ./splitllm calibrate --out calibration.json";
            default: return "see ./splitllm plan --help";
        }
    }

    /** Pretty JSON of {@code value}. */
    public static String toJson(Object value) {
        try {
            return MAPPER.writeValueAsString(value) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
        }
    }

    /** Writes {@code value} as pretty JSON (through a temporary file, then renamed). */
    public static void write(Path file, Object value) throws IOException {
        Path abs = file.toAbsolutePath();
        if (abs.getParent() != null) Files.createDirectories(abs.getParent());
        Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
        Files.writeString(tmp, toJson(value), StandardCharsets.UTF_8);
        Files.move(tmp, abs, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** "sha256:<hex>" of the canonical JSON of {@code value}. */
    public static String fingerprint(Object value) {
        try {
            byte[] json = CANONICAL.writeValueAsBytes(value);
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(json));
        } catch (JsonProcessingException | NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot fingerprint " + value.getClass().getSimpleName(), e);
        }
    }

    /** The innermost useful message of a Jackson failure, with the JSON path of the field. */
    static String message(JsonProcessingException e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String path = e instanceof JsonMappingException m ? path(m) : "";
        String msg = root instanceof IllegalArgumentException ? root.getMessage() : e.getOriginalMessage();
        if (msg != null) {
            int nl = msg.indexOf('\n');
            if (nl > 0) msg = msg.substring(0, nl);
            int idx = msg.indexOf(" (index ");
            if (idx > 0 && msg.contains("creator property")) msg = msg.substring(0, idx); // drop Jackson's feature hint
            msg = msg.replace("Missing creator property", "missing field").replace("Null value for creator property", "null for field");
        }
        return (path.isEmpty() ? "" : "at " + path + ": ") + msg;
    }

    private static String path(JsonMappingException m) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : m.getPath()) {
            if (r.getFieldName() != null) {
                if (sb.length() > 0) sb.append('.');
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }
}
