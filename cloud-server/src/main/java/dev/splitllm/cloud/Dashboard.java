package dev.splitllm.cloud;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.engine.model.LlamaConfig;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The live dashboard: {@code GET /dashboard} serves a static page (HTML + JS from this jar, no
 * CDN) that polls {@code GET /v1/dashboard} (bearer token, JSON) once a second: open sessions
 * with split, codec and cloud weights, bytes up and down, reserved KV against the cap, a
 * per-token timeline and step-latency percentiles. The page itself holds no data, so it needs
 * no token; the token goes in the page's URL fragment ({@code /dashboard#token=T}), which a
 * browser never sends to the server.
 */
final class Dashboard {
    /** Static files the page needs: name to content type. Nothing else under /dashboard is served. */
    private static final Map<String, String> FILES = Map.of("index.html", "text/html; charset=utf-8",
            "dashboard.js", "text/javascript; charset=utf-8", "dashboard.css", "text/css; charset=utf-8");
    /** Timeline entries sent per session (the page draws the most recent ones). */
    static final int TIMELINE_SENT = 120;

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
                    .put("steps", t == null ? 0 : t.answered());
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
