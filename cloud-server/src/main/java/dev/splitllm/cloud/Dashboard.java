package dev.splitllm.cloud;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.quantization.protocol.ErrorMessage;
import dev.splitllm.quantization.protocol.TimingMessage;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The live dashboard: {@code GET /dashboard} serves a static page (HTML + JS from this jar, no
 * CDN) that polls {@code GET /v1/dashboard} (bearer token, JSON) once a second: open sessions
 * with split, codec and cloud weights, bytes up and down, reserved KV against the cap, a
 * per-token timeline (split into edge, encode, network and cloud for edges that send timing
 * messages) and step-latency percentiles. The page itself holds no data, so it needs
 * no token; the token goes in the page's URL fragment ({@code /dashboard#token=T}), which a
 * browser never sends to the server.
 */
final class Dashboard {
    /** Static files the page needs: name to content type. Nothing else under /dashboard is served. */
    private static final Map<String, String> FILES = Map.of("index.html", "text/html; charset=utf-8",
            "dashboard.js", "text/javascript; charset=utf-8", "dashboard.css", "text/css; charset=utf-8");
    /** Timeline entries sent per session (the page draws the most recent ones). */
    static final int TIMELINE_SENT = 120;
    /** Longest text message read as a timing message (a real one is under 120 characters). */
    static final int MAX_TIMING_CHARS = 512;
    /** Error code of a refused text message. */
    static final String BAD_TIMING = "bad_timing";
    private static final Set<String> TIMING_FIELDS = Set.of("type", "step", "edgeMs", "encodeMs", "roundTripMs");

    private final ServerConfig config;
    private final ModelHost host;
    private final SessionRegistry registry;
    private final Metrics metrics;
    private final Auth auth;
    private final Telemetry telemetry = new Telemetry();
    private final ObjectMapper json = new ObjectMapper();
    private final Map<String, byte[]> files;

    Dashboard(ServerConfig config, ModelHost host, SessionRegistry registry, Metrics metrics, Auth auth) {
        this.config = config;
        this.host = host;
        this.registry = registry;
        this.metrics = metrics;
        this.auth = auth;
        this.files = Map.of("index.html", resource("index.html"), "dashboard.js", resource("dashboard.js"),
                "dashboard.css", resource("dashboard.css"));
    }

    /** The page's own files need no token (they hold no data); the state they poll does. */
    static boolean isPage(String path) {
        return path.equals("/dashboard") || (path.startsWith("/dashboard/") && FILES.containsKey(path.substring("/dashboard/".length())));
    }

    void register(RoutesConfig routes) {
        routes.get("/dashboard", ctx -> file(ctx, "index.html"));
        routes.get("/dashboard/{file}", ctx -> file(ctx, ctx.pathParam("file")));
        routes.get("/v1/dashboard", this::state);
    }

    /** Called by the server after it answered a frame of {@code s}. */
    void onStep(CloudSession s, CloudSession.Outcome out, int bytesUp, long serverNanos) {
        int down;
        try {
            down = json.writeValueAsString(out.answer()).length(); // what the server sent down for it
        } catch (JsonProcessingException e) {
            down = 0;
        }
        telemetry.step(s, out, bytesUp, down, serverNanos);
    }

    /**
     * Called by the server for a text message on {@code s}'s stream, which must be a timing
     * message (docs/PROTOCOL.md): exactly its five fields, a step the session has answered, times
     * finite, {@code >= 0} and below {@link TimingMessage#MAX_MS}. Returns null when it was
     * recorded, else the refusal to send back; the session itself is never touched.
     */
    ErrorMessage onText(CloudSession s, String text) {
        if (text.length() > MAX_TIMING_CHARS) {
            return badTiming(-1, "text message of " + text.length() + " characters; a timing message has at most " + MAX_TIMING_CHARS);
        }
        JsonNode n;
        try {
            n = StrictJson.parse(text, JsonNode.class);
        } catch (ApiException e) {
            return badTiming(-1, "not a timing message: " + e.getMessage());
        }
        if (!n.isObject()) return badTiming(-1, "a timing message is a JSON object, got " + n.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
        JsonNode type = n.get("type");
        if (type == null || !type.isTextual() || !TimingMessage.TYPE.equals(type.asText())) {
            return badTiming(-1, "the only text message the stream takes is {\"type\":\"timing\",...}; got type " + type);
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!TIMING_FIELDS.contains(f)) return badTiming(-1, "unknown field '" + f + "' in a timing message");
        }
        JsonNode step = n.get("step");
        if (step == null || !step.isIntegralNumber() || !step.canConvertToLong() || step.asLong() < 0) {
            return badTiming(-1, "timing 'step' must be a non-negative integer, got " + step);
        }
        long st = step.asLong();
        double[] ms = new double[3];
        String[] names = {"edgeMs", "encodeMs", "roundTripMs"};
        for (int i = 0; i < 3; i++) {
            JsonNode v = n.get(names[i]);
            if (v == null || !v.isNumber()) return badTiming(st, "timing '" + names[i] + "' must be a number, got " + v);
            ms[i] = v.asDouble();
            if (!Double.isFinite(ms[i]) || ms[i] < 0 || ms[i] >= TimingMessage.MAX_MS) {
                return badTiming(st, "timing '" + names[i] + "' must be finite, >= 0 and below " + (long) TimingMessage.MAX_MS
                        + " ms, got " + v);
            }
        }
        String why = telemetry.timing(s, new TimingMessage(st, ms[0], ms[1], ms[2]));
        return why == null ? null : badTiming(st, why);
    }

    private static ErrorMessage badTiming(long step, String message) {
        return new ErrorMessage(BAD_TIMING, message, step, false);
    }

    private void file(Context ctx, String name) {
        String type = FILES.get(name);
        if (type == null) throw ApiException.notFound("no such dashboard file: " + name);
        ctx.header("Cache-Control", "no-cache").contentType(type).result(files.get(name));
    }

    private void state(Context ctx) throws JsonProcessingException {
        auth.authenticate(ctx.header("Authorization"));
        LlamaConfig c = host.config();
        ObjectNode body = json.createObjectNode();
        body.put("time", System.currentTimeMillis());
        ObjectNode server = body.putObject("server");
        server.put("layers", c.nLayers()).put("dim", c.dim()).put("kernels", host.kernelName())
                .put("sessions", registry.active()).put("maxSessions", config.maxSessions())
                .put("kvReservedBytes", registry.reservedKvBytes()).put("kvCapBytes", config.maxKvBytes())
                .put("bytesIn", metrics.bytesIn.sum()).put("bytesOut", metrics.bytesOut.sum())
                .put("tokensOut", metrics.tokensOut.sum()).put("completions", metrics.completions.sum());
        List<Double> allCloud = new ArrayList<>();
        List<Double> allInterval = new ArrayList<>();
        ArrayNode sessions = body.putArray("sessions");
        for (CloudSession s : registry.sessions()) {
            ObjectNode o = sessions.addObject();
            o.put("id", s.id.substring(0, 8)); // enough to tell sessions apart; the full id stays with its owner
            o.put("splitLayer", s.splitLayer).put("layers", c.nLayers()).put("codec", s.codec.toString())
                    .put("cloudWeights", s.cloudWeights).put("maxSeqLen", s.maxSeqLen).put("kvReservedBytes", s.reservedKvBytes)
                    .put("nextStep", s.nextStep()).put("idleMs", Math.round(s.idleNanos() / 1e6));
            Telemetry.Trace t = telemetry.trace(s);
            List<Telemetry.Step> steps = t == null ? List.of() : t.steps();
            o.put("bytesUp", t == null ? 0 : t.bytesUp()).put("bytesDown", t == null ? 0 : t.bytesDown())
                    .put("steps", t == null ? 0 : t.answered()).put("timings", t == null ? 0 : t.timed());
            double[] cloud = steps.stream().filter(x -> x.phase().equals("decode")).mapToDouble(Telemetry.Step::cloudMs).toArray();
            double[] interval = steps.stream().filter(x -> x.phase().equals("decode")).mapToDouble(x -> x.gapMs() + x.serverMs()).toArray();
            for (double d : cloud) allCloud.add(d);
            for (double d : interval) allInterval.add(d);
            putPercentiles(o.putObject("cloudMs"), cloud);
            putPercentiles(o.putObject("tokenIntervalMs"), interval);
            ArrayNode tl = o.putArray("timeline");
            for (Telemetry.Step x : steps.subList(Math.max(0, steps.size() - TIMELINE_SENT), steps.size())) {
                ObjectNode e = tl.addObject().put("step", x.step()).put("phase", x.phase()).put("bytesUp", x.bytesUp())
                        .put("bytesDown", x.bytesDown()).put("cloudMs", round(x.cloudMs()))
                        .put("serverOtherMs", round(Math.max(0, x.serverMs() - x.cloudMs())));
                if (Double.isNaN(x.gapMs())) e.putNull("edgeAndLinkMs");
                else e.put("edgeAndLinkMs", round(x.gapMs()));
                TimingMessage tm = t.timingOf(x.step()); // the edge's own figures, if it sent them
                if (tm == null) {
                    e.putNull("edgeMs").putNull("encodeMs").putNull("roundTripMs").putNull("networkMs");
                } else {
                    // Both directions of the link: the edge's round trip less the server's time on the step.
                    e.put("edgeMs", round(tm.edgeMs())).put("encodeMs", round(tm.encodeMs())).put("roundTripMs", round(tm.roundTripMs()))
                            .put("networkMs", round(Math.max(0, tm.roundTripMs() - x.serverMs())));
                }
            }
        }
        putPercentiles(server.putObject("cloudMs"), allCloud.stream().mapToDouble(Double::doubleValue).toArray());
        putPercentiles(server.putObject("tokenIntervalMs"), allInterval.stream().mapToDouble(Double::doubleValue).toArray());
        ctx.header("Cache-Control", "no-store").contentType("application/json").result(json.writeValueAsString(body));
    }

    private static void putPercentiles(ObjectNode o, double[] values) {
        double[] p = Telemetry.percentiles(values);
        o.put("count", values.length);
        String[] names = {"p50", "p90", "p99"};
        for (int i = 0; i < 3; i++) {
            if (Double.isNaN(p[i])) o.putNull(names[i]);
            else o.put(names[i], round(p[i]));
        }
    }

    private static double round(double ms) {
        return Math.round(ms * 1000) / 1000.0;
    }

    private static byte[] resource(String name) {
        try (InputStream in = Dashboard.class.getResourceAsStream("/dashboard/" + name)) {
            if (in == null) throw new IllegalStateException("dashboard/" + name + " is missing from the jar");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
