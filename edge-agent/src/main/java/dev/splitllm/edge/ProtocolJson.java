package dev.splitllm.edge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.quantization.protocol.ErrorMessage;
import dev.splitllm.quantization.protocol.MoveRequest;
import dev.splitllm.quantization.protocol.ReplayRequest;
import dev.splitllm.quantization.protocol.SessionMoved;
import dev.splitllm.quantization.protocol.SessionCreated;
import dev.splitllm.quantization.protocol.SessionReplayed;
import dev.splitllm.quantization.protocol.SessionRequest;
import dev.splitllm.quantization.protocol.TokenMessage;

/**
 * The edge's JSON mapping of the protocol records, written out field by field over Jackson's
 * tree model. Jackson maps records by reflecting on their record components, which Android
 * before API level 34 does not have (D8 desugars records into plain classes), so the edge SDK
 * never asks Jackson to bind a record; the JSON is the same as the server's record binding.
 */
final class ProtocolJson {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private ProtocolJson() {}

    /** Parses a JSON document; throws on malformed text. */
    static JsonNode parse(String text) throws JsonProcessingException {
        return MAPPER.readTree(text);
    }

    /** The body of {@code POST /v1/sessions}. */
    static byte[] write(SessionRequest r) throws JsonProcessingException {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("splitLayer", r.splitLayer());
        o.put("codec", r.codec());
        o.put("cloudWeights", r.cloudWeights());
        o.put("maxSeqLen", r.maxSeqLen());
        o.put("temperature", r.temperature());
        o.put("topP", r.topP());
        o.put("seed", r.seed());
        return MAPPER.writeValueAsBytes(o);
    }

    static SessionCreated sessionCreated(JsonNode n) {
        return new SessionCreated(text(n, "sessionId"), text(n, "streamPath"), n.path("frameSession").asLong(),
                n.path("splitLayer").asInt(), n.path("dim").asInt(), n.path("maxSeqLen").asInt(), text(n, "codec"),
                text(n, "cloudWeights"), n.path("maxFrameBytes").asInt(), n.path("epoch").asLong(), text(n, "resumeTicket"),
                n.path("maxDraft").asInt(), // 0 from a server without speculation
                n.path("maxFrameVersion").asInt()); // 0 from a server without compact frames
    }

    /** The JSON head of {@code POST /v1/sessions/{id}/replay}. */
    static byte[] write(ReplayRequest r) throws JsonProcessingException {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("splitLayer", r.splitLayer());
        o.put("codec", r.codec());
        o.put("cloudWeights", r.cloudWeights());
        o.put("maxSeqLen", r.maxSeqLen());
        o.put("temperature", r.temperature());
        o.put("topP", r.topP());
        o.put("seed", r.seed());
        o.put("frameSession", r.frameSession());
        o.put("epoch", r.epoch());
        o.put("resumeTicket", r.resumeTicket());
        o.put("frames", r.frames());
        return MAPPER.writeValueAsBytes(o);
    }

    static SessionReplayed sessionReplayed(JsonNode n) {
        return new SessionReplayed(text(n, "sessionId"), n.path("epoch").asLong(), n.path("step").asLong(),
                n.path("token").asInt(), n.path("positions").asInt(), n.path("frames").asInt(), n.path("bytes").asLong(),
                n.path("cloudMs").asDouble(), n.path("accepted").asInt(),
                n.path("maxFrameVersion").asInt()); // 0 from a replica without compact frames
    }

    /** The JSON head of {@code POST /v1/sessions/{id}/move}. */
    static byte[] write(MoveRequest r) throws JsonProcessingException {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("fromSplit", r.fromSplit());
        o.put("toSplit", r.toSplit());
        o.put("epoch", r.epoch());
        o.put("step", r.step());
        o.put("positions", r.positions());
        o.put("kv", r.kv());
        o.put("down", r.down());
        o.put("mirrored", r.mirroredPositions());
        return MAPPER.writeValueAsBytes(o);
    }

    /** The JSON head of {@code POST /v1/sessions/{id}/handoff}. */
    static byte[] write(dev.splitllm.quantization.protocol.HandOffRequest r) throws JsonProcessingException {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("fromSplit", r.fromSplit());
        o.put("epoch", r.epoch());
        o.put("step", r.step());
        o.put("positions", r.positions());
        o.put("mirrored", r.mirrored());
        o.put("kv", r.kv());
        o.put("maxTokens", r.maxTokens());
        o.put("ignoreEos", r.ignoreEos());
        if (r.prompt() == null) {
            o.putNull("prompt");
        } else {
            com.fasterxml.jackson.databind.node.ArrayNode a = o.putArray("prompt");
            for (int t : r.prompt()) a.add(t);
        }
        return MAPPER.writeValueAsBytes(o);
    }

    static dev.splitllm.quantization.protocol.HandedOff handedOff(JsonNode n) {
        return new dev.splitllm.quantization.protocol.HandedOff(text(n, "sessionId"), n.path("epoch").asLong(),
                n.path("positions").asInt(), n.path("mirrored").asInt(), n.path("kvBytes").asLong(), n.path("cloudMs").asDouble());
    }

    static dev.splitllm.quantization.protocol.SessionRestored sessionRestored(JsonNode n) {
        return new dev.splitllm.quantization.protocol.SessionRestored(sessionCreated(n.path("session")),
                n.path("positions").asInt(), n.path("nextStep").asLong(), ints(n.get("prompt")), ints(n.get("tokens")),
                text(n, "stop"), n.path("mirrored").asInt());
    }

    /** An array of ints, or null when absent or JSON null. */
    private static int[] ints(JsonNode a) {
        if (a == null || a.isNull()) return null;
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }

    static SessionMoved sessionMoved(JsonNode n) {
        return new SessionMoved(text(n, "sessionId"), n.path("epoch").asLong(), n.path("splitLayer").asInt(),
                n.path("positions").asInt(), n.path("kvBytes").asLong(), n.path("cloudMs").asDouble(), text(n, "resumeTicket"));
    }

    static TokenMessage token(JsonNode n) {
        return new TokenMessage(text(n, "type"), n.path("step").asLong(), n.path("token").asInt(), n.path("cloudMs").asDouble(),
                n.path("accepted").asInt());
    }

    static ErrorMessage error(JsonNode n) {
        return new ErrorMessage(text(n, "type"), text(n, "code"), text(n, "message"), n.path("step").asLong(),
                n.path("fatal").asBoolean());
    }

    /** A text field, or null when it is absent or JSON null (as record binding gives). */
    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
