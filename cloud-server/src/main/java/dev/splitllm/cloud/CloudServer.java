package dev.splitllm.cloud;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.quantization.protocol.CompletionRequest;
import dev.splitllm.quantization.protocol.ErrorMessage;
import dev.splitllm.quantization.protocol.SessionCreated;
import dev.splitllm.quantization.protocol.SessionRequest;
import dev.splitllm.quantization.protocol.TokenMessage;
import dev.splitllm.quantization.wire.FrameLimits;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.websocket.WsBinaryMessageContext;
import io.javalin.websocket.WsContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cloud endpoint (Javalin). REST: {@code POST /v1/sessions}, {@code GET|DELETE
 * /v1/sessions/{id}}, {@code POST /v1/completions}, {@code GET /v1/health}, {@code GET /metrics};
 * WebSocket {@code /v1/sessions/{id}/stream}: binary hidden-state frames up, JSON token or error
 * messages down. Every request but health and metrics needs {@code Authorization: Bearer T}.
 */
public final class CloudServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CloudServer.class);
    private static final String SESSION_ATTR = "splitllm.session";

    private final ServerConfig config;
    private final ModelHost host;
    private final Auth auth;
    private final SessionRegistry registry;
    private final Metrics metrics;
    private final CompletionService completions;
    private final ObjectMapper json = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
    private final FrameLimits frameLimits;
    private final Map<String, Set<WsContext>> sockets = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sweeper;
    private Javalin app;

    public CloudServer(ServerConfig config, ModelHost host) {
        this.config = config;
        this.host = host;
        this.auth = new Auth(config.tokens());
        this.registry = new SessionRegistry(config, host);
        this.metrics = new Metrics(registry::active, registry::reservedKvBytes);
        this.completions = new CompletionService(host, registry);
        LlamaConfig c = host.config();
        this.frameLimits = new FrameLimits(Math.min(c.seqLen(), config.maxSeqLen()), c.dim(), config.maxFrameBytes());
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "splitllm-session-sweeper");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts listening; returns this. */
    public CloudServer start() {
        app = Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.http.maxRequestSize = MAX_PROBE_BYTES; // JSON bodies have their own, smaller cap in parse()
            cfg.jetty.modifyWebSocketServletFactory(f -> {
                // Jetty refuses (close 1009) anything past twice our own limit; between the two,
                // the frame is read and refused with a JSON reason while the session goes on.
                f.setMaxBinaryMessageSize(2L * config.maxFrameBytes());
                f.setIdleTimeout(config.idleTimeout());
            });
            cfg.routes.exception(ApiException.class, (e, ctx) -> {
                metrics.error(e.code());
                sendJson(ctx.status(e.status()), ErrorMessage.of(e.code(), e.getMessage()));
            });
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                LOG.error("unexpected error on {} {}", ctx.method(), ctx.path(), e);
                metrics.error("internal");
                sendJson(ctx.status(500), ErrorMessage.of("internal", "internal error: " + e.getClass().getSimpleName()));
            });
            cfg.routes.get("/v1/health", this::health);
            cfg.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4").result(metrics.render()));
            cfg.routes.post("/v1/sessions", this::createSession);
            cfg.routes.get("/v1/sessions/{id}", this::sessionStatus);
            cfg.routes.delete("/v1/sessions/{id}", this::deleteSession);
            cfg.routes.post("/v1/completions", this::completion);
            cfg.routes.post("/v1/probe", this::probeUp);
            cfg.routes.get("/v1/probe", this::probeDown);
            cfg.routes.wsBeforeUpgrade("/v1/sessions/{id}/stream", ctx -> {
                byte[] who = auth.authenticate(ctx.header("Authorization"));
                registry.get(ctx.pathParam("id"), who); // 404 before any upgrade
            });
            cfg.routes.ws("/v1/sessions/{id}/stream", ws -> {
                ws.onConnect(ctx -> {
                    ctx.session.setIdleTimeout(config.idleTimeout());
                    CloudSession s = registry.get(ctx.pathParam("id"), auth.authenticate(ctx.header("Authorization")));
                    ctx.attribute(SESSION_ATTR, s);
                    sockets.computeIfAbsent(s.id, k -> ConcurrentHashMap.newKeySet()).add(ctx);
                    if (s.closed()) { // deleted or expired while this socket was connecting
                        forget(ctx);
                        ctx.closeSession(1000, "session closed");
                    }
                });
                ws.onBinaryMessage(this::onFrame);
                ws.onMessage(ctx -> sendError(ctx, new ErrorMessage("bad_frame",
                        "text messages are not accepted on the stream; send binary frames", -1, false)));
                ws.onClose(ctx -> forget(ctx));
                ws.onError(ctx -> forget(ctx));
            });
        });
        app.start(config.host(), config.port());
        long period = Math.max(50, Math.min(1000, config.idleTimeout().toMillis() / 4));
        sweeper.scheduleWithFixedDelay(this::expireIdle, period, period, TimeUnit.MILLISECONDS);
        LOG.info("splitllm cloud server on {}:{} (model d={}, L={}, kernels {})", config.host(), port(),
                host.config().dim(), host.config().nLayers(), host.kernelName());
        return this;
    }

    /** The bound port (useful when configured with 0). */
    public int port() {
        return app.port();
    }

    public String baseUrl() {
        return "http://" + config.host() + ":" + port();
    }

    // ---- REST -------------------------------------------------------------------------------

    private void health(Context ctx) {
        LlamaConfig c = host.config();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", "ok");
        body.put("model", Map.of("dim", c.dim(), "layers", c.nLayers(), "vocab", c.vocabSize(), "seqLen", c.seqLen()));
        body.put("sessions", registry.active());
        body.put("kernels", host.kernelName());
        sendJson(ctx, body);
    }

    private void createSession(Context ctx) {
        byte[] who = auth.authenticate(ctx.header("Authorization"));
        SessionRequest req = parse(ctx, SessionRequest.class);
        CloudSession s = registry.create(req, who);
        metrics.sessionsCreated.increment();
        sendJson(ctx.status(201), new SessionCreated(s.id, "/v1/sessions/" + s.id + "/stream", s.frameTag, s.splitLayer,
                host.config().dim(), s.maxSeqLen, s.codec.toString(), s.cloudWeights, config.maxFrameBytes()));
    }

    private void sessionStatus(Context ctx) {
        CloudSession s = registry.get(ctx.pathParam("id"), auth.authenticate(ctx.header("Authorization")));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("sessionId", s.id);
        body.put("nextStep", s.nextStep());
        body.put("splitLayer", s.splitLayer);
        body.put("codec", s.codec.toString());
        sendJson(ctx, body);
    }

    private void deleteSession(Context ctx) {
        CloudSession s = registry.get(ctx.pathParam("id"), auth.authenticate(ctx.header("Authorization")));
        if (registry.close(s)) {
            metrics.sessionsClosed.increment();
            closeSockets(s.id, 1000, "session closed");
        }
        ctx.status(204);
    }

    private void completion(Context ctx) {
        auth.authenticate(ctx.header("Authorization"));
        CompletionRequest req = parse(ctx, CompletionRequest.class);
        metrics.completions.increment();
        sendJson(ctx, completions.complete(req, Math.min(host.config().seqLen(), config.maxSeqLen())));
    }

    /** Largest probe transfer in either direction. */
    static final int MAX_PROBE_BYTES = 16 << 20;

    /** Uplink probe: the client times how long its body takes to arrive; we report what we got. */
    private void probeUp(Context ctx) {
        auth.authenticate(ctx.header("Authorization"));
        long declared = ctx.contentLength();
        if (declared > MAX_PROBE_BYTES) {
            throw ApiException.badRequest("probe body of " + declared + " bytes exceeds " + MAX_PROBE_BYTES);
        }
        byte[] body = ctx.bodyAsBytes();
        sendJson(ctx, Map.of("bytes", body.length));
    }

    /** Downlink probe ({@code ?bytes=N}, 0 for an RTT ping): N bytes of filler. */
    private void probeDown(Context ctx) {
        auth.authenticate(ctx.header("Authorization"));
        int n;
        try {
            n = Integer.parseInt(ctx.queryParam("bytes") == null ? "0" : ctx.queryParam("bytes"));
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("bytes must be an integer");
        }
        if (n < 0 || n > MAX_PROBE_BYTES) {
            throw ApiException.badRequest("bytes must be in [0, " + MAX_PROBE_BYTES + "], got " + n);
        }
        ctx.contentType("application/octet-stream").result(new byte[n]);
    }

    /** Largest JSON request body. */
    static final int MAX_JSON_BYTES = 256 * 1024;

    private <T> T parse(Context ctx, Class<T> type) {
        if (ctx.contentLength() > MAX_JSON_BYTES) {
            throw ApiException.badRequest(type.getSimpleName() + " body of " + ctx.contentLength() + " bytes exceeds " + MAX_JSON_BYTES);
        }
        String body = ctx.body();
        if (body.length() > MAX_JSON_BYTES) {
            throw ApiException.badRequest(type.getSimpleName() + " body exceeds " + MAX_JSON_BYTES + " bytes");
        }
        if (body.isBlank()) {
            throw ApiException.badRequest("request body must be a JSON " + type.getSimpleName());
        }
        try {
            return json.readValue(body, type);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("malformed " + type.getSimpleName() + ": " + e.getOriginalMessage());
        }
    }

    private void sendJson(Context ctx, Object body) {
        try {
            ctx.contentType("application/json").result(json.writeValueAsString(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- WebSocket --------------------------------------------------------------------------

    private void onFrame(WsBinaryMessageContext ctx) {
        CloudSession s = ctx.attribute(SESSION_ATTR);
        if (s == null || s.closed()) {
            sendError(ctx, new ErrorMessage("closed", "session is closed", -1, true));
            ctx.closeSession(1008, "session closed");
            return;
        }
        java.nio.ByteBuffer data = ctx.data();
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        if (bytes.length > config.maxFrameBytes()) {
            sendError(ctx, new ErrorMessage("too_large", "frame of " + bytes.length + " bytes exceeds the limit of "
                    + config.maxFrameBytes(), -1, false));
            return;
        }
        long t0 = System.nanoTime();
        CloudSession.Outcome out;
        try {
            out = s.handle(bytes, frameLimits);
        } catch (RuntimeException e) {
            LOG.error("session {} failed on a frame", s.id, e);
            out = CloudSession.Outcome.error("internal", "internal error: " + e.getClass().getSimpleName(), -1, false);
        }
        if (out.error() != null) {
            sendError(ctx, out.error());
            return;
        }
        String phase = out.phase().name().toLowerCase(java.util.Locale.ROOT);
        metrics.frame(phase, bytes.length);
        if (!out.replayed()) {
            metrics.step(phase, System.nanoTime() - t0);
        }
        send(ctx, out.answer());
        metrics.tokensOut.increment();
    }

    private void sendError(WsContext ctx, ErrorMessage error) {
        metrics.error(error.code());
        send(ctx, error);
    }

    private void send(WsContext ctx, Object message) {
        try {
            String text = json.writeValueAsString(message);
            metrics.bytesOut.add(text.length());
            ctx.send(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        } catch (RuntimeException e) {
            LOG.debug("could not send to a closing socket: {}", e.toString());
        }
    }

    private void forget(WsContext ctx) {
        CloudSession s = ctx.attribute(SESSION_ATTR);
        if (s != null) {
            sockets.computeIfPresent(s.id, (id, set) -> {
                set.remove(ctx);
                return set.isEmpty() ? null : set;
            });
        }
    }

    private void closeSockets(String sessionId, int code, String reason) {
        Set<WsContext> set = sockets.remove(sessionId);
        if (set != null) {
            for (WsContext c : set) {
                try {
                    c.closeSession(code, reason);
                } catch (RuntimeException e) {
                    LOG.debug("close failed: {}", e.toString());
                }
            }
        }
    }

    private void expireIdle() {
        try {
            registry.expireIdle(s -> {
                metrics.sessionsExpired.increment();
                closeSockets(s.id, 1001, "session expired after " + config.idleTimeout().toSeconds() + " s idle");
            });
        } catch (RuntimeException e) {
            LOG.warn("idle sweep failed", e);
        }
    }

    /** The Prometheus text exposition that {@code GET /metrics} serves, for tests and the demo. */
    public String metricsText() {
        return metrics.render();
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
        registry.closeAll();
        if (app != null) {
            app.stop();
        }
    }
}
