package dev.splitllm.optimizer.plan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.optimizer.solve.Candidate;
import dev.splitllm.optimizer.solve.PlanRequest;
import dev.splitllm.optimizer.solve.PlanResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes {@code plan.json}. The reader checks the document field by field (a missing,
 * mistyped or unknown field is named), then the plan's own consistency ({@link Plan}), and,
 * given the model's config, that the plan fits it. Files over 1 MiB are refused unread. The
 * draft fields ({@code draft}, {@code draftK}, {@code predicted.tokensPerRoundTrip}) are
 * optional: a plan written before them reads as one without a drafter.
 */
public final class PlanFile {
    private PlanFile() {}

    public static final long MAX_BYTES = 1 << 20;

    /** The plan of a feasible result, with fingerprints of its inputs. */
    public static Plan of(PlanResult result) {
        Candidate b = result.best();
        if (b == null) {
            throw new IllegalArgumentException("no feasible plan to write: " + result.summary());
        }
        PlanRequest r = result.request();
        Map<String, String> inputs = new LinkedHashMap<>();
        inputs.put("edgeProfile", ProfileJson.fingerprint(r.edge()));
        inputs.put("cloudProfile", ProfileJson.fingerprint(r.cloud()));
        inputs.put("link", ProfileJson.fingerprint(r.link()));
        inputs.put("calibration", ProfileJson.fingerprint(r.calibration()));
        boolean derived = r.edge().derived() || r.cloud().derived() || r.calibration().derived();
        Plan.Predicted p = new Plan.Predicted(b.edgeBytes(), b.cloudBytes(), b.ttftMs(), b.msPerToken(), b.prefillBitsPerElement(),
                b.decodeBitsPerElement(), nan(b.agreement()), nan(b.meanKl()), nan(b.deltaPpl()), b.tokensPerRoundTrip());
        return new Plan(Plan.SCHEMA, r.model(), derived, b.split(), b.edgeFormat().id(), b.cloudFormat().id(), b.codec(), b.seqLen(),
                r.promptTokens(), r.objective().id, b.draft(), b.draftK(), p, inputs);
    }

    private static Double nan(double v) {
        return Double.isNaN(v) ? null : v;
    }

    public static void write(Path file, Plan plan) throws IOException {
        ProfileJson.write(file, plan);
    }

    public static String toJson(Plan plan) {
        return ProfileJson.toJson(plan);
    }

    /** Reads and checks a plan file. */
    public static Plan read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new IllegalArgumentException(file + ": plan file is " + size + " bytes, more than the " + MAX_BYTES + " allowed");
        }
        try {
            return parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Reads a plan file and checks it against the model it will run on. */
    public static Plan read(Path file, LlamaConfig config) throws IOException {
        Plan p = read(file);
        try {
            checkAgainst(p, config);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
        return p;
    }

    /** Throws unless {@code plan} was made for a model of {@code config}'s shape. */
    public static void checkAgainst(Plan plan, LlamaConfig config) {
        ModelShape have = ModelShape.of(plan.model().name(), config);
        if (!plan.model().sameShape(have)) {
            throw new IllegalArgumentException("plan is for " + plan.model().describe() + " but the model is " + have.describe());
        }
        if (plan.maxSeqLen() > config.seqLen()) {
            throw new IllegalArgumentException("plan maxSeqLen " + plan.maxSeqLen() + " exceeds the model's seq_len " + config.seqLen());
        }
        plan.precisionPlan().checkAgainst(config);
    }

    /** Parses plan JSON text. */
    public static Plan parse(String json) {
        if (json.length() > MAX_BYTES) {
            throw new IllegalArgumentException("plan is larger than " + MAX_BYTES + " bytes");
        }
        JsonNode root;
        try {
            root = ProfileJson.mapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("plan is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("plan must be a JSON object");
        }
        String schema = text(root, "schema");
        if (!Plan.SCHEMA.equals(schema)) {
            throw new IllegalArgumentException("plan: unsupported schema \"" + schema + "\" (this reader understands \"" + Plan.SCHEMA + "\")");
        }
        only(root, "", Set.of("schema", "model", "derived", "split", "edgeFormat", "cloudFormat", "codec", "maxSeqLen", "promptTokens",
                "objective", "draft", "draftK", "predicted", "inputs"));
        JsonNode m = object(root, "model");
        only(m, "model.", Set.of("name", "dim", "hiddenDim", "nLayers", "nHeads", "nKvHeads", "vocabSize", "seqLen", "sharedClassifier"));
        ModelShape model;
        try {
            model = new ModelShape(text(m, "model.name"), integer(m, "model.dim"), integer(m, "model.hiddenDim"), integer(m, "model.nLayers"),
                    integer(m, "model.nHeads"), integer(m, "model.nKvHeads"), integer(m, "model.vocabSize"), integer(m, "model.seqLen"),
                    bool(m, "model.sharedClassifier"));
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith("plan:") ? e : new IllegalArgumentException("plan: model: " + e.getMessage(), e);
        }
        JsonNode p = object(root, "predicted");
        only(p, "predicted.", Set.of("edgeBytes", "cloudBytes", "ttftMs", "msPerToken", "prefillBitsPerElement", "decodeBitsPerElement",
                "agreement", "meanKl", "deltaPpl", "tokensPerRoundTrip"));
        Plan.Predicted pred;
        try {
            pred = new Plan.Predicted(longValue(p, "predicted.edgeBytes"), longValue(p, "predicted.cloudBytes"), number(p, "predicted.ttftMs"),
                    number(p, "predicted.msPerToken"), number(p, "predicted.prefillBitsPerElement"), number(p, "predicted.decodeBitsPerElement"),
                    optNumber(p, "predicted.agreement"), optNumber(p, "predicted.meanKl"), optNumber(p, "predicted.deltaPpl"),
                    orElse(optNumber(p, "predicted.tokensPerRoundTrip"), 1.0));
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith("plan:") ? e : new IllegalArgumentException("plan: " + e.getMessage(), e);
        }
        JsonNode in = object(root, "inputs");
        Map<String, String> inputs = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : in.properties()) {
            if (!e.getValue().isTextual()) {
                throw new IllegalArgumentException("plan: inputs." + e.getKey() + " must be a string");
            }
            inputs.put(e.getKey(), e.getValue().asText());
        }
        return new Plan(schema, model, bool(root, "derived"), integer(root, "split"), text(root, "edgeFormat"), text(root, "cloudFormat"),
                text(root, "codec"), integer(root, "maxSeqLen"), integer(root, "promptTokens"), text(root, "objective"),
                optText(root, "draft"), root.hasNonNull("draftK") ? integer(root, "draftK") : 0, pred, inputs);
    }

    private static double orElse(Double v, double otherwise) {
        return v == null ? otherwise : v;
    }

    private static String optText(JsonNode n, String path) {
        JsonNode v = n.get(path.substring(path.lastIndexOf('.') + 1));
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new IllegalArgumentException("plan: \"" + path + "\" must be a string or null, got " + v.getNodeType());
        return v.asText();
    }

    private static JsonNode field(JsonNode n, String path) {
        String name = path.substring(path.lastIndexOf('.') + 1);
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException("plan: missing field \"" + path + "\"");
        }
        return v;
    }

    private static void only(JsonNode n, String prefix, Set<String> allowed) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new IllegalArgumentException("plan: unknown field \"" + prefix + f + "\"");
            }
        }
    }

    private static JsonNode object(JsonNode n, String path) {
        JsonNode v = field(n, path);
        if (!v.isObject()) throw new IllegalArgumentException("plan: \"" + path + "\" must be an object");
        return v;
    }

    private static String text(JsonNode n, String path) {
        JsonNode v = field(n, path);
        if (!v.isTextual()) throw new IllegalArgumentException("plan: \"" + path + "\" must be a string, got " + v.getNodeType());
        return v.asText();
    }

    private static int integer(JsonNode n, String path) {
        JsonNode v = field(n, path);
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new IllegalArgumentException("plan: \"" + path + "\" must be a 32-bit integer, got " + v);
        }
        return v.asInt();
    }

    private static long longValue(JsonNode n, String path) {
        JsonNode v = field(n, path);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new IllegalArgumentException("plan: \"" + path + "\" must be an integer, got " + v);
        }
        return v.asLong();
    }

    private static double number(JsonNode n, String path) {
        JsonNode v = field(n, path);
        if (!v.isNumber()) throw new IllegalArgumentException("plan: \"" + path + "\" must be a number, got " + v);
        return v.asDouble();
    }

    private static Double optNumber(JsonNode n, String path) {
        JsonNode v = n.get(path.substring(path.lastIndexOf('.') + 1));
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw new IllegalArgumentException("plan: \"" + path + "\" must be a number or null, got " + v);
        return v.asDouble();
    }

    private static boolean bool(JsonNode n, String path) {
        JsonNode v = field(n, path);
        if (!v.isBoolean()) throw new IllegalArgumentException("plan: \"" + path + "\" must be true or false, got " + v);
        return v.asBoolean();
    }

    static ObjectNode tree(Plan p) {
        return ProfileJson.mapper().valueToTree(p);
    }
}
