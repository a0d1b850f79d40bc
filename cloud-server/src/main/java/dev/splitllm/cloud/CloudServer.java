package dev.splitllm.cloud;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.quantization.protocol.CompletionRequest;
import dev.splitllm.quantization.protocol.ErrorMessage;
import dev.splitllm.quantization.wire.Phase;
import dev.splitllm.quantization.protocol.ReplayRequest;
import dev.splitllm.quantization.protocol.SessionCreated;
import dev.splitllm.quantization.protocol.SessionReplayed;
import dev.splitllm.quantization.protocol.SessionRequest;
import dev.splitllm.quantization.protocol.TokenMessage;
import dev.splitllm.quantization.wire.FrameCodec;
import dev.splitllm.quantization.wire.FrameLimits;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.websocket.WsBinaryMessageContext;
import io.javalin.websocket.WsContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cloud endpoint (Javalin). REST: {@code POST /v1/sessions}, {@code GET|DELETE
 * /v1/sessions/{id}}, {@code POST /v1/completions}, {@code GET /v1/health}, {@code GET /metrics};
 * WebSocket {@code /v1/sessions/{id}/stream}: binary hidden-state frames up, JSON token or error
 * messages down. Every request but health (and metrics without a metrics token) needs
 * {@code Authorization: Bearer T}; one gate in front of every route checks it, and every refusal,
 * ours, Javalin's or Jetty's, is a JSON error. HTTPS/WSS when {@link ServerConfig#tls} is set.
 */
public final class CloudServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CloudServer.class);
    private static final String SESSION_ATTR = "splitllm.session";
    private static final String GUARD_ATTR = "splitllm.socket-guard";
    /** The session's restore count when the socket opened (a restore fences the older sockets off). */
    private static final String RESTORES_ATTR = "splitllm.restores";
    /** The token digest of an authenticated request, set by the gate in front of every route. */
    static final String CALLER_ATTR = "splitllm.caller";
    /** Sockets one session may hold at once (an edge needs one, two while it reconnects). */
    static final int MAX_SOCKETS_PER_SESSION = 4;
    /**
     * WebSocket close code for "this session moved": the replica is draining and has closed the
     * session; the edge replays it on another replica at once instead of backing off.
     */
    public static final int CLOSE_MOVED = 4302;
    /** The health path: 200 while serving, 503 while draining (readiness); {@link #LIVE_QUERY} keeps 200 (liveness). */
    public static final String HEALTH_PATH = "/v1/health";
    /** Query that makes {@link #HEALTH_PATH} a liveness probe: 200 as long as the process answers, draining included. */
    public static final String LIVE_QUERY = "probe=live";
    /** The only text message on the stream is the edge's small optional timing report; this bounds what any text message may cost. */
    static final int MAX_TEXT_MESSAGE_BYTES = 4096;

    private final ServerConfig config;
    private final ModelHost host;
    private final Auth auth;
    private final SessionRegistry registry;
    private final Metrics metrics;
    private final CompletionService completions;
    private final ObjectMapper json = new ObjectMapper();
    private final FrameLimits frameLimits;
    private final Map<String, Set<WsContext>> sockets = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sweeper;
    /** #14: one thread per handed-off session's own generation (at most maxSessions; idle threads end). */
    private final java.util.concurrent.ThreadPoolExecutor cloudGenerations;
    private Javalin app;
    /** The TLS factory when serving HTTPS (kept for reloads), else null. */
    private SslContextFactory.Server tls;
    private Dashboard dashboard; // #20: the live /dashboard (created in start)
    /** #17: batches the back segments' steps across sessions; null when serving unbatched. */
    private final StepScheduler scheduler;
    /** {@link #CloudServer(ServerConfig, ModelHost, int)} with this budget runs every step on its own socket thread. */
    public static final int UNBATCHED = 0;

    /** A server that batches steps across sessions (continuous batching, the default token budget). */
    public CloudServer(ServerConfig config, ModelHost host) {
        this(config, host, StepScheduler.DEFAULT_TOKEN_BUDGET);
    }

    /**
     * @param tokenBudget rows per batched tick (at least 8), or {@link #UNBATCHED}: each session's
     *                    step then runs alone on the thread its frame arrived on
     */
    public CloudServer(ServerConfig config, ModelHost host, int tokenBudget) {
        this.scheduler = tokenBudget == UNBATCHED ? null : new StepScheduler(config.maxSessions(), tokenBudget);
        this.config = config;
        this.host = host;
        this.auth = new Auth(config.tokens(), config.metricsToken());
        this.registry = new SessionRegistry(config, host);
        this.metrics = new Metrics(registry::active, registry::reservedKvBytes);
        this.completions = new CompletionService(host, registry);
        LlamaConfig c = host.config();
        this.frameLimits = new FrameLimits(Math.min(c.seqLen(), config.maxSeqLen()), c.dim(), config.maxFrameBytes());
        this.cloudGenerations = new java.util.concurrent.ThreadPoolExecutor(0, Math.max(1, config.maxSessions()), 30,
                TimeUnit.SECONDS, new java.util.concurrent.SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "splitllm-cloud-generation");
                    t.setDaemon(true);
                    return t;
                });
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "splitllm-session-sweeper");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts listening; returns this. */
    public CloudServer start() {
        if (config.tls() != null) {
            tls = PemTls.contextFactory(config.tls()); // fails here, with the reason, on a bad file
        }
        app = Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.http.maxRequestSize = MAX_PROBE_BYTES; // JSON bodies have their own, smaller cap in StrictJson
            cfg.http.prefer405over404 = true;
            // Binary bodies (KV frames, probes) and token streams are never gzipped: a KV frame of floats
            // barely shrinks and costs ~45 ns a byte both ways (a 1.7 MB move took 80 ms instead of 5), a
            // probe of zeros would shrink to nothing and measure a link that is not there, and a gzipped
            // NDJSON stream holds tokens back until the compressor flushes.
            java.util.List<String> excluded = new java.util.ArrayList<>(cfg.http.compressionStrategy.getExcludedMimeTypes());
            excluded.addAll(java.util.List.of("application/octet-stream", "application/x-ndjson"));
            cfg.http.compressionStrategy.setExcludedMimeTypes(excluded);
            cfg.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrors.JettyErrors()));
            cfg.jetty.modifyServletContextHandler(handler -> {
                // No HTTP sessions at all (see NoHttpSessions): a JSESSIONID per upgrade attempt leaked.
                handler.addFilter(new NoHttpSessions(), "/*", java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST));
                handler.setErrorHandler(new JsonErrors.JettyErrors());
            });
            cfg.jetty.modifyWebSocketServletFactory(f -> {
                // No extensions: permessage-deflate lets a few KB inflate to MBs before any limit.
                f.getAvailableExtensionNames().clear();
                // One limit for a message, a WebSocket frame and our frame: Jetty closes (1009)
                // anything larger before buffering it.
                f.setMaxBinaryMessageSize(config.maxFrameBytes());
                f.setMaxFrameSize(config.maxFrameBytes());
                f.setMaxTextMessageSize(MAX_TEXT_MESSAGE_BYTES);
                f.setIdleTimeout(config.idleTimeout());
            });
            if (tls != null) {
                cfg.jetty.addConnector((server, http) -> {
                    HttpConfiguration https = new HttpConfiguration(http);
                    SecureRequestCustomizer secure = new SecureRequestCustomizer();
                    secure.setSniHostCheck(false); // the client checks the host name against the certificate
                    https.addCustomizer(secure);
                    ServerConnector c = new ServerConnector(server, new SslConnectionFactory(tls, "http/1.1"),
                            new HttpConnectionFactory(https));
                    c.setHost(config.host());
                    c.setPort(config.port());
                    return c;
                });
            }
            cfg.routes.exception(ApiException.class, (e, ctx) -> {
                metrics.error(e.code());
                if (e.retryAfterSeconds() > 0) ctx.header("Retry-After", String.valueOf(e.retryAfterSeconds()));
                // A draining replica closes the connection with its refusal: a client's kept-alive connection
                // (through an L4 balancer) would otherwise bring every retry back here.
                if ("draining".equals(e.code())) ctx.header("Connection", "close");
                sendError(ctx, e.status(), JsonErrors.body(e.code(), e.getMessage(), e.details()));
            });
            cfg.routes.exception(HttpResponseException.class, (e, ctx) -> {
                // Javalin's own refusals: no route (404), wrong method (405), body too large (413).
                String code = JsonErrors.codeFor(e.getStatus());
                metrics.error(code);
                String message = e.getStatus() == 405 ? ctx.method() + " is not allowed on " + ctx.path()
                        : e.getStatus() == 404 ? "no such endpoint: " + ctx.method() + " " + ctx.path() : e.getMessage();
                sendError(ctx, e.getStatus(), JsonErrors.body(code, message, Map.of()));
            });
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                LOG.error("unexpected error on {} {}", ctx.method(), ctx.path(), e);
                metrics.error("internal");
                sendError(ctx, 500, JsonErrors.body("internal", "internal error: " + e.getClass().getSimpleName(), Map.of()));
            });
            // One gate for every HTTP route, present and future: a bearer token unless the path is public.
            cfg.routes.before(this::authenticate);
            cfg.routes.wsBeforeUpgrade(ctx -> ctx.attribute(CALLER_ATTR, auth.authenticate(ctx.header("Authorization"))));
            cfg.routes.get("/v1/health", this::health);
            cfg.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4").result(metrics.render()));
            cfg.routes.post("/v1/sessions", this::createSession);
            cfg.routes.put("/v1/sessions/{id}", this::putSession); // #15: the client names the id, so a proxy can route by it
            cfg.routes.post("/v1/sessions/{id}/replay", this::replay); // #15: failover by replay
            cfg.routes.post("/v1/sessions/{id}/move", this::move); // #14: move the cut mid-session
            cfg.routes.post("/v1/sessions/{id}/handoff", this::handOff); // #14: the cloud generates alone
            cfg.routes.get("/v1/sessions/{id}/tokens", this::tokens); // #14: follow a cloud-only generation
            cfg.routes.post("/v1/sessions/{id}/restore", this::restore); // #14: a new edge takes the session back
            cfg.routes.get("/v1/sessions/{id}/mirror", this::mirrorDown); // #14: a restored edge loads its mirrored KV
            cfg.routes.get("/v1/sessions/{id}", this::sessionStatus);
            cfg.routes.delete("/v1/sessions/{id}", this::deleteSession);
            // #20: OpenAI-compatible routes; a /v1/completions body without "model" still reaches completion().
            new OpenAiApi(config, host, registry, auth, metrics, host.chatPrompt()).register(cfg.routes, this::completion);
            (dashboard = new Dashboard(config, host, registry, metrics, auth)).register(cfg.routes); // #20
            cfg.routes.post("/v1/probe", this::probeUp);
            cfg.routes.get("/v1/probe", this::probeDown);
            cfg.routes.wsBeforeUpgrade("/v1/sessions/{id}/stream", ctx -> {
                if (registry.draining()) throw SessionRegistry.drainingRefusal(); // a proxy tries the next replica
                CloudSession s = registry.get(ctx.pathParam("id"), caller(ctx)); // 404 before any upgrade
                checkEpoch(s, ctx.queryParam("epoch"));
                Set<WsContext> open = sockets.get(s.id);
                if (open != null && open.size() >= MAX_SOCKETS_PER_SESSION) {
                    throw new ApiException(429, "limit", "session " + s.id + " already has " + open.size() + " of "
                            + MAX_SOCKETS_PER_SESSION + " sockets open", Map.of("limit", "sockets", "used", open.size(),
                            "max", MAX_SOCKETS_PER_SESSION), 1);
                }
            });
            cfg.routes.ws("/v1/sessions/{id}/stream", ws -> {
                ws.onConnect(ctx -> {
                    ctx.session.setIdleTimeout(config.idleTimeout());
                    CloudSession s = registry.get(ctx.pathParam("id"), auth.authenticate(ctx.header("Authorization")));
                    ctx.attribute(SESSION_ATTR, s);
                    ctx.attribute(GUARD_ATTR, new SocketGuard());
                    ctx.attribute(RESTORES_ATTR, s.restores());
                    Set<WsContext> set = sockets.computeIfAbsent(s.id, k -> ConcurrentHashMap.newKeySet());
                    set.add(ctx);
                    if (s.closed()) { // deleted or expired while this socket was connecting
                        forget(ctx);
                        ctx.closeSession(1000, "session closed");
                    } else if (olderEpoch(ctx.queryParam("epoch"), s)) { // restored while this socket was connecting
                        forget(ctx);
                        ctx.closeSession(CLOSE_RESTORED, "restored by another edge");
                    } else if (set.size() > MAX_SOCKETS_PER_SESSION) { // raced past the upgrade check
                        forget(ctx);
                        ctx.closeSession(1008, "too many sockets for this session");
                    }
                });
                ws.onBinaryMessage(this::onFrame);
                ws.onMessage(this::onText); // #20: the edge's optional timing messages; anything else is refused
                ws.onClose(ctx -> forget(ctx));
                ws.onError(ctx -> forget(ctx));
            });
        });
        app.start(config.host(), config.port());
        long period = Math.max(50, Math.min(1000, config.idleTimeout().toMillis() / 4));
        sweeper.scheduleWithFixedDelay(this::expireIdle, period, period, TimeUnit.MILLISECONDS);
        LOG.info("splitllm cloud server on {} (model d={}, L={}, kernels {})", baseUrl(),
                host.config().dim(), host.config().nLayers(), host.kernelName());
        return this;
    }

    /**
     * Reads the TLS certificate and key files again and uses them for new connections (what
     * {@code serve} does on SIGHUP, after a certificate renewal). A bad file leaves the current
     * certificate in place and throws with the reason.
     */
    public void reloadTls() {
        if (tls == null) throw new IllegalStateException("this server does not use TLS");
        java.security.KeyStore fresh = PemTls.keyStore(config.tls());
        try {
            tls.reload(f -> f.setKeyStore(fresh));
        } catch (Exception e) {
            throw new IllegalArgumentException("TLS reload failed: " + e.getMessage(), e);
        }
    }

    /** HTTP paths anyone may call; every other path needs a bearer token. */
    private static final Set<String> PUBLIC_PATHS = Set.of("/v1/health");

    private void authenticate(Context ctx) {
        if (registry.draining() && (ctx.method() == io.javalin.http.HandlerType.POST || ctx.method() == io.javalin.http.HandlerType.PUT)
                && !ctx.path().equals("/v1/probe")) {
            throw SessionRegistry.drainingRefusal(); // admissions stop: sessions, replays, completions
        }
        if (PUBLIC_PATHS.contains(ctx.path()) || Dashboard.isPage(ctx.path())) return; // #20: the page holds no data
        if (ctx.path().equals("/metrics")) {
            auth.authenticateMetrics(ctx.header("Authorization"));
            return;
        }
        ctx.attribute(CALLER_ATTR, auth.authenticate(ctx.header("Authorization")));
    }

    /** The token digest the gate stored for this request. */
    private static byte[] caller(Context ctx) {
        byte[] who = ctx.attribute(CALLER_ATTR);
        if (who == null) throw ApiException.unauthorized(); // never reached past the gate; refuse rather than assume
        return who;
    }

    /** The bound port (useful when configured with 0). */
    public int port() {
        return app.port();
    }

    public String baseUrl() {
        return (tls != null ? "https://" : "http://") + config.host() + ":" + port();
    }

    // ---- REST -------------------------------------------------------------------------------

    private void health(Context ctx) {
        LlamaConfig c = host.config();
        Map<String, Object> body = new LinkedHashMap<>();
        boolean draining = registry.draining();
        body.put("status", draining ? "draining" : "ok");
        // Readiness fails while draining (proxies and Kubernetes stop routing here); liveness does not.
        if (draining && !LIVE_QUERY.equals(ctx.queryString())) ctx.status(503);
        body.put("model", Map.of("dim", c.dim(), "layers", c.nLayers(), "vocab", c.vocabSize(), "seqLen", c.seqLen()));
        body.put("sessions", registry.active());
        body.put("kernels", host.kernelName());
        sendJson(ctx, body);
    }

    private void createSession(Context ctx) {
        byte[] who = caller(ctx);
        SessionRequest req = parse(ctx, SessionRequest.class);
        CloudSession s = registry.create(req, who);
        metrics.sessionsCreated.increment();
        sendCreated(ctx, s);
    }

    private void sendCreated(Context ctx, CloudSession s) {
        sendJson(ctx.status(201), new SessionCreated(s.id, "/v1/sessions/" + s.id + "/stream", s.frameTag, s.splitLayer,
                host.config().dim(), s.maxSeqLen, s.codec.toString(), s.cloudWeights, config.maxFrameBytes(), s.epoch,
                s.resumeTicket, CloudSession.MAX_DRAFT, FrameCodec.COMPACT_VERSION));
    }

    /** {@code PUT /v1/sessions/{id}}: creates a session under the id the client chose (32 hex digits, 128 random bits). */
    private void putSession(Context ctx) {
        byte[] who = caller(ctx);
        String id = ctx.pathParam("id");
        if (!SessionRegistry.validId(id)) {
            throw ApiException.badRequest("session ids are 32 lower-case hex digits (128 random bits), got " + id);
        }
        SessionRequest req = parse(ctx, SessionRequest.class);
        CloudSession s = registry.create(req, who, id);
        metrics.sessionsCreated.increment();
        sendCreated(ctx, s);
    }

    /**
     * {@code POST /v1/sessions/{id}/replay}: re-creates a session from the edge's log. Body: a
     * 4-byte big-endian length, that many bytes of {@link ReplayRequest} JSON, then per frame a
     * 4-byte big-endian length and the frame. Every length is bounded before anything is allocated.
     */
    private void replay(Context ctx) {
        byte[] who = caller(ctx);
        String id = ctx.pathParam("id");
        long declared = ctx.contentLength();
        java.nio.ByteBuffer body = enveloped(ctx, "replay");
        ReplayRequest head = StrictJson.parse(head(body, "replay"), ReplayRequest.class);
        int maxFrames = frameLimits.maxTokens(); // each frame holds at least one position
        if (head.frames() < 1 || head.frames() > maxFrames) {
            throw ApiException.badRequest("replay of " + head.frames() + " frames: must be in [1, " + maxFrames
                    + "] (one frame per step, at most one step per position)");
        }
        java.util.List<byte[]> frames = new java.util.ArrayList<>(head.frames());
        while (body.hasRemaining()) {
            if (frames.size() == head.frames()) throw ApiException.badRequest("replay body holds more than " + head.frames() + " frames");
            if (body.remaining() < 4) throw ApiException.badRequest("replay frame " + frames.size() + ": truncated length");
            int n = body.getInt();
            if (n < 1 || n > config.maxFrameBytes() || n > body.remaining()) {
                throw ApiException.badRequest("replay frame " + frames.size() + ": length " + n + " is not in [1, "
                        + Math.min(config.maxFrameBytes(), body.remaining()) + "]");
            }
            byte[] f = new byte[n];
            body.get(f);
            frames.add(f);
        }
        long bytes = declared > 0 ? declared : body.capacity();
        SessionRegistry.Replayed r = registry.replay(id, head, who, frames, frameLimits, scheduler);
        CloudSession s = r.session();
        if (!r.repeat()) {
            metrics.sessionsCreated.increment();
            LOG.info("session {} replayed at epoch {}: {} frames, {} positions, {} bytes in {} ms", id, s.epoch,
                    frames.size(), s.position(), bytes, String.format(java.util.Locale.ROOT, "%.1f", r.answer().cloudMs()));
        }
        sendJson(ctx, new SessionReplayed(s.id, s.epoch, r.answer().step(), r.answer().token(), s.position(), frames.size(),
                bytes, r.answer().cloudMs(), r.answer().accepted(), FrameCodec.COMPACT_VERSION));
    }

    /** A binary body (replay, move): at most 16 MiB, checked before it is read. */
    private static java.nio.ByteBuffer enveloped(Context ctx, String what) {
        long declared = ctx.contentLength();
        if (declared > MAX_PROBE_BYTES) {
            throw new ApiException(413, "too_large", what + " body of " + declared + " bytes exceeds " + MAX_PROBE_BYTES);
        }
        return java.nio.ByteBuffer.wrap(ctx.bodyAsBytes()); // Javalin caps it at maxRequestSize
    }

    /** The JSON head of an enveloped body: a 4-byte big-endian length, then that many bytes; bounded before it is read. */
    private static String head(java.nio.ByteBuffer body, String what) {
        if (body.remaining() < 4) throw ApiException.badRequest(what + " body too short: no head");
        int headLength = body.getInt();
        if (headLength < 2 || headLength > StrictJson.MAX_BYTES || headLength > body.remaining()) {
            throw ApiException.badRequest(what + " head length " + headLength + " is not in [2, "
                    + Math.min(StrictJson.MAX_BYTES, body.remaining()) + "]");
        }
        byte[] headBytes = new byte[headLength];
        body.get(headBytes);
        return new String(headBytes, java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * {@code POST /v1/sessions/{id}/move}: moves the session's cut between two steps. Body: a 4-byte
     * big-endian length, that many bytes of {@link dev.splitllm.quantization.protocol.MoveRequest}
     * JSON, then (toward the cloud) the SPKV frame of the layers the cloud takes over. Answer, in the
     * same envelope: {@link dev.splitllm.quantization.protocol.SessionMoved} JSON, then (toward the
     * edge with down=transfer) the SPKV frame of the layers the edge takes over. A refused move
     * leaves the session on its old cut.
     */
    private void move(Context ctx) {
        CloudSession s = registry.get(ctx.pathParam("id"), caller(ctx));
        java.nio.ByteBuffer body = enveloped(ctx, "move");
        var req = StrictJson.parse(head(body, "move"), dev.splitllm.quantization.protocol.MoveRequest.class);
        byte[] kv = null;
        if (body.hasRemaining()) {
            kv = new byte[body.remaining()];
            body.get(kv);
        }
        CloudSession.Moved m;
        try {
            m = registry.move(s, req, kv, MAX_PROBE_BYTES);
        } catch (CloudSession.MoveRefused e) {
            throw new ApiException(moveStatus(e.code), e.code, "move of session " + s.id + " refused: " + e.getMessage());
        }
        metrics.moves.increment();
        metrics.moveKvBytes.add((kv == null ? 0 : kv.length) + m.answer().kvBytes());
        LOG.info("session {} moved its cut {} -> {} at step {} (epoch {}): {} positions, {} KV bytes up, {} down, {} ms", s.id,
                req.fromSplit(), req.toSplit(), req.step(), m.answer().epoch(), req.positions(), kv == null ? 0 : kv.length,
                m.answer().kvBytes(), String.format(java.util.Locale.ROOT, "%.1f", m.answer().cloudMs()));
        byte[] head;
        try {
            head = json.writeValueAsBytes(m.answer());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        byte[] down = m.kvDown() == null ? new byte[0] : m.kvDown();
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(4 + head.length + down.length);
        out.putInt(head.length).put(head).put(down);
        ctx.contentType("application/octet-stream").result(out.array());
    }

    /**
     * A stream upgrade may name the epoch the edge holds ({@code ?epoch=E}). A copy older than
     * that is stale (the edge replayed elsewhere since): it is closed, and the edge told to replay
     * here; any other mismatch is refused too, so two copies never both take steps.
     */
    private void checkEpoch(CloudSession s, String epochParam) {
        if (epochParam == null) return;
        long want;
        try {
            want = Long.parseLong(epochParam);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("epoch must be an integer, got " + epochParam);
        }
        if (want == s.epoch) return;
        if (s.epoch < want && registry.close(s)) {
            metrics.sessionsClosed.increment();
            closeSockets(s.id, 1000, "session superseded by epoch " + want);
        }
        throw new ApiException(409, "stale_epoch", "session " + s.id + " is at epoch " + s.epoch + " here, the edge at "
                + want + "; replay it");
    }

    /**
     * Graceful drain (SIGTERM): admissions stop and {@code /v1/health} answers 503 "draining";
     * each session is closed once its in-flight step is done (closing takes the session's lock,
     * which a step holds), then its sockets get {@link #CLOSE_MOVED} so edges replay on another
     * replica at once; completions in flight may finish until {@code timeout}. Returns the number
     * of sessions moved.
     */
    public int drain(java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        registry.startDraining();
        java.util.List<CloudSession> open = new java.util.ArrayList<>(registry.sessions());
        java.util.List<String> moved = new java.util.ArrayList<>();
        for (CloudSession s : open) {
            if (registry.close(s)) { // waits for the step in flight
                metrics.sessionsClosed.increment();
                moved.add(s.id);
            }
        }
        pause(Math.min(200, Math.max(0, (deadline - System.nanoTime()) / 1_000_000))); // let queued answers go out first
        for (String id : moved) closeSockets(id, CLOSE_MOVED, "moved: replica draining");
        while (registry.reservedKvBytes() > 0 && System.nanoTime() < deadline) pause(50); // completions in flight
        LOG.info("drained: {} sessions moved", moved.size());
        return moved.size();
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void sessionStatus(Context ctx) {
        CloudSession s = registry.get(ctx.pathParam("id"), caller(ctx));
        sendJson(ctx, s.status());
    }

    /** True when the socket's {@code ?epoch=} is older than the session's (it changed since the upgrade check). */
    private static boolean olderEpoch(String epochParam, CloudSession s) {
        if (epochParam == null) return false;
        try {
            return Long.parseLong(epochParam) < s.epoch;
        } catch (NumberFormatException e) {
            return false; // refused at the upgrade already
        }
    }

    /** WebSocket close code for "another edge restored this session": the old edge must stop, not reconnect. */
    public static final int CLOSE_RESTORED = 4409;

    /** The status of a move refusal's code. */
    private static int moveStatus(String code) {
        return switch (code) {
            case "closed" -> 404;
            case "stale_epoch", "bad_step", "handed_off" -> 409;
            case "too_large" -> 413;
            default -> 400;
        };
    }

    /**
     * {@code POST /v1/sessions/{id}/handoff}: the cloud takes the edge's layers (the SPKV frame after
     * the head, plus what the mirror holds) and generates the rest alone; the answer streams NDJSON:
     * one {@link dev.splitllm.quantization.protocol.HandedOff} line, a
     * {@link dev.splitllm.quantization.protocol.CloudToken} line per token, one
     * {@link dev.splitllm.quantization.protocol.GenerationEnd} line. The generation does not depend
     * on this response: if the edge goes away, it runs on, and {@code GET .../tokens} or a restore
     * picks it up.
     */
    private void handOff(Context ctx) throws java.io.IOException {
        CloudSession s = registry.get(ctx.pathParam("id"), caller(ctx));
        java.nio.ByteBuffer body = enveloped(ctx, "hand-off");
        var req = StrictJson.parse(head(body, "hand-off"), dev.splitllm.quantization.protocol.HandOffRequest.class);
        byte[] kv = null;
        if (body.hasRemaining()) {
            kv = new byte[body.remaining()];
            body.get(kv);
        }
        dev.splitllm.quantization.protocol.HandedOff h;
        openTokenStream(s); // before the hand-off: a refused stream must not leave a hand-off nobody hears of
        try {
            h = registry.handOff(s, req, kv, MAX_PROBE_BYTES);
        } catch (CloudSession.MoveRefused e) {
            s.tokenStreams.decrementAndGet();
            throw new ApiException(moveStatus(e.code), e.code, "hand-off of session " + s.id + " refused: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            s.tokenStreams.decrementAndGet();
            throw e;
        }
        metrics.handoffs.increment();
        metrics.moveKvBytes.add(kv == null ? 0 : kv.length);
        LOG.info("session {} handed off at step {} (epoch {}): {} positions, {} mirrored, {} KV bytes up, up to {} tokens",
                s.id, req.step(), h.epoch(), h.positions(), h.mirrored(), h.kvBytes(), req.maxTokens());
        int first = s.tokenCount();
        try {
            cloudGenerations.execute(() -> runCloudGeneration(s));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            if (registry.close(s)) metrics.sessionsClosed.increment(); // cannot happen (one thread per session allowed); never half handed off
            s.tokenStreams.decrementAndGet();
            throw new ApiException(503, "limit", "no thread for the cloud's generation; the session is closed");
        }
        try {
            streamTokens(ctx, s, first, h);
        } finally {
            s.tokenStreams.decrementAndGet();
        }
    }

    /** Runs a handed-off session's generation to its end (bounded by its maxTokens); one thread per session at most. */
    private void runCloudGeneration(CloudSession s) {
        try {
            int n = 0;
            while (s.cloudStep(scheduler) >= 0) n++;
            metrics.tokensOut.add(n);
        } catch (RuntimeException e) {
            LOG.error("session {}: the cloud's own generation failed", s.id, e);
        }
    }

    /** {@code GET /v1/sessions/{id}/tokens?from=N}: the session's tokens from index N, following a cloud-only generation to its end. */
    private void tokens(Context ctx) throws java.io.IOException {
        CloudSession s = registry.get(ctx.pathParam("id"), caller(ctx));
        String f = ctx.queryParam("from");
        int from;
        try {
            from = f == null ? 0 : Integer.parseInt(f);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("from must be an integer, got " + f);
        }
        if (from < 0 || from > s.maxSeqLen + 1) throw ApiException.badRequest("from must be in [0, " + (s.maxSeqLen + 1) + "], got " + from);
        if (!s.tokensKnown()) {
            throw new ApiException(409, "bad_step", "session " + s.id + " was rebuilt here from a replay: the indices of its tokens"
                    + " before the replay are not known here");
        }
        followTokens(ctx, s, from, null);
    }

    /** Streams NDJSON token lines from index {@code from} until the cloud's generation ends; a client that leaves only stops the stream. */
    /** Takes one of the session's token-stream slots (each holds a server thread until the generation ends); 429 when none is left. */
    private static void openTokenStream(CloudSession s) {
        if (s.tokenStreams.incrementAndGet() > MAX_SOCKETS_PER_SESSION) {
            s.tokenStreams.decrementAndGet();
            throw new ApiException(429, "limit", "session " + s.id + " already has " + MAX_SOCKETS_PER_SESSION
                    + " token streams open", Map.of("limit", "tokenStreams", "max", MAX_SOCKETS_PER_SESSION), 1);
        }
    }

    /** Streams the session's tokens from {@code from} (see {@link #streamTokens}) in a slot of its own. */
    private void followTokens(Context ctx, CloudSession s, int from, Object firstLine) throws java.io.IOException {
        openTokenStream(s);
        try {
            streamTokens(ctx, s, from, firstLine);
        } finally {
            s.tokenStreams.decrementAndGet();
        }
    }

    private void streamTokens(Context ctx, CloudSession s, int from, Object firstLine) throws java.io.IOException {
        ctx.status(200).contentType("application/x-ndjson");
        java.io.OutputStream os = ctx.res().getOutputStream();
        try {
            if (firstLine != null) line(os, firstLine);
            int at = from;
            while (true) { // bounded: the generation ends after at most maxSeqLen tokens, and an idle session is closed
                CloudSession.TokenView v;
                try {
                    v = s.tokensSince(at, 1_000_000_000L);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int t : v.tokens()) line(os, new dev.splitllm.quantization.protocol.CloudToken(at++, t));
                os.flush();
                if (!v.running() && at >= v.total()) {
                    line(os, new dev.splitllm.quantization.protocol.GenerationEnd(v.stop() == null ? "edge" : v.stop(), v.total()));
                    os.flush();
                    return;
                }
            }
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            LOG.debug("token stream of session {} ended by the client: {}", s.id, e.toString()); // the generation goes on
        }
    }

    private void line(java.io.OutputStream os, Object message) throws java.io.IOException {
        os.write(json.writeValueAsBytes(message));
        os.write('\n');
    }

    /**
     * {@code POST /v1/sessions/{id}/restore}: a new edge process takes the session back (no body):
     * the cloud's own generation stops, the epoch moves on, the old edge's sockets are closed with
     * {@link #CLOSE_RESTORED}, and the answer says where the session stands.
     */
    private void restore(Context ctx) {
        CloudSession s = registry.get(ctx.pathParam("id"), caller(ctx));
        CloudSession.Restored r;
        try {
            r = registry.restore(s);
        } catch (CloudSession.MoveRefused e) {
            throw new ApiException(moveStatus(e.code), e.code, "restore of session " + s.id + " refused: " + e.getMessage());
        }
        closeSockets(s.id, CLOSE_RESTORED, "restored by another edge");
        LOG.info("session {} restored at epoch {}: split {}, {} positions, {} tokens", s.id, r.epoch(), r.splitLayer(),
                r.positions(), r.tokens().length);
        SessionCreated info = new SessionCreated(s.id, "/v1/sessions/" + s.id + "/stream", s.frameTag, r.splitLayer(),
                host.config().dim(), s.maxSeqLen, s.codec.toString(), s.cloudWeights, config.maxFrameBytes(), r.epoch(),
                s.resumeTicket, CloudSession.MAX_DRAFT, FrameCodec.COMPACT_VERSION);
        sendJson(ctx, new dev.splitllm.quantization.protocol.SessionRestored(info, r.positions(), r.nextStep(), r.prompt(),
                r.tokens(), r.stop(), r.mirrored()));
    }

    /** {@code GET /v1/sessions/{id}/mirror}: the mirror of the edge's layers as one SPKV frame (fp32); 404 when there is none. */
    private void mirrorDown(Context ctx) {
        CloudSession s = registry.get(ctx.pathParam("id"), caller(ctx));
        openTokenStream(s); // a download holds its frame until the client has read it: a few per session at once
        try {
            byte[] frame;
            try {
                frame = s.mirrorFrame(MAX_PROBE_BYTES);
            } catch (CloudSession.MoveRefused e) {
                throw new ApiException(moveStatus(e.code), e.code, e.getMessage());
            }
            if (frame == null) throw ApiException.notFound("session " + s.id + " holds no mirror of the edge's layers");
            metrics.moveKvBytes.add(frame.length);
            ctx.contentType("application/octet-stream");
            ctx.res().getOutputStream().write(frame); // written here, so the slot is held until it is out
        } catch (java.io.IOException e) {
            LOG.debug("mirror download of session {} ended by the client: {}", s.id, e.toString());
        } finally {
            s.tokenStreams.decrementAndGet();
        }
    }

    private void deleteSession(Context ctx) {
        CloudSession s = registry.get(ctx.pathParam("id"), caller(ctx));
        if (registry.close(s)) {
            metrics.sessionsClosed.increment();
            closeSockets(s.id, 1000, "session closed");
        }
        ctx.status(204);
    }

    private void completion(Context ctx) {
        CompletionRequest req = parse(ctx, CompletionRequest.class);
        metrics.completions.increment();
        sendJson(ctx, completions.complete(req, Math.min(host.config().seqLen(), config.maxSeqLen()), caller(ctx)));
    }

    /** Largest probe transfer in either direction. */
    static final int MAX_PROBE_BYTES = 16 << 20;

    /** Uplink probe: the client times how long its body takes to arrive; we report what we got. */
    private void probeUp(Context ctx) {
        long declared = ctx.contentLength();
        if (declared > MAX_PROBE_BYTES) {
            throw new ApiException(413, "too_large", "probe body of " + declared + " bytes exceeds " + MAX_PROBE_BYTES);
        }
        byte[] body = ctx.bodyAsBytes();
        sendJson(ctx, Map.of("bytes", body.length));
    }

    /** Downlink probe ({@code ?bytes=N}, 0 for an RTT ping): N bytes of filler. */
    private void probeDown(Context ctx) {
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

    /** Largest JSON request body (the strict binder's cap; other routes use it too). */
    static final int MAX_JSON_BYTES = StrictJson.MAX_BYTES;

    private <T> T parse(Context ctx, Class<T> type) {
        if (ctx.contentLength() > StrictJson.MAX_BYTES) {
            throw new ApiException(413, "too_large", type.getSimpleName() + " body of " + ctx.contentLength()
                    + " bytes exceeds " + StrictJson.MAX_BYTES);
        }
        return StrictJson.parse(ctx.body(), type);
    }

    private static void sendError(Context ctx, int status, String body) {
        ctx.status(status).contentType("application/json").result(body);
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
            send(ctx, new ErrorMessage("closed", "session is closed", -1, true));
            ctx.closeSession(1008, "session closed");
            return;
        }
        java.nio.ByteBuffer data = ctx.data();
        if (data.remaining() > config.maxFrameBytes()) { // Jetty's message limit refuses these first; kept as a guard
            refuse(ctx, new ErrorMessage("too_large", "frame of " + data.remaining() + " bytes exceeds the limit of "
                    + config.maxFrameBytes(), -1, false));
            return;
        }
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        if (bytes.length >= 4 && bytes[0] == 'S' && bytes[1] == 'P' && bytes[2] == 'K' && bytes[3] == 'V') {
            // #14: a mirror frame (the edge's KV rows, docs/PROTOCOL.md "Mirror"): no answer unless refused.
            ErrorMessage refused = registry.mirror(s, bytes, config.maxFrameBytes(), restoresOf(ctx));
            if (refused != null && CloudSession.RESTORED_ELSEWHERE.equals(refused.code())) {
                send(ctx, refused);
                forget(ctx);
                ctx.closeSession(CLOSE_RESTORED, "restored by another edge");
            } else if (refused != null) {
                refuse(ctx, refused);
            } else {
                guard(ctx).frameAccepted();
                metrics.moveKvBytes.add(bytes.length);
            }
            return;
        }
        long t0 = System.nanoTime();
        CloudSession.Outcome out;
        try {
            out = s.handle(bytes, frameLimits, scheduler, restoresOf(ctx));
        } catch (RuntimeException e) {
            LOG.error("session {} failed on a frame", s.id, e);
            out = CloudSession.Outcome.error("internal", "internal error: " + e.getClass().getSimpleName(), -1, false);
        }
        if (out.error() != null && CloudSession.RESTORED_ELSEWHERE.equals(out.error().code())) {
            send(ctx, out.error());
            forget(ctx);
            ctx.closeSession(CLOSE_RESTORED, "restored by another edge");
            return;
        }
        if (out.error() != null) {
            refuse(ctx, out.error());
            return;
        }
        guard(ctx).frameAccepted();
        String phase = out.phase().name().toLowerCase(java.util.Locale.ROOT);
        metrics.frame(phase, bytes.length);
        if (!out.replayed()) {
            metrics.step(phase, System.nanoTime() - t0);
        }
        send(ctx, out.answer());
        dashboard.onStep(s, out, bytes.length, System.nanoTime() - t0); // #20: per-session timeline
        metrics.tokensOut.add(1 + out.answer().accepted());
        if (out.phase() == Phase.DRAFT && !out.replayed()) {
            metrics.draftedTokens.add(out.draftSize());
            metrics.acceptedTokens.add(out.answer().accepted());
        }
    }

    /**
     * A text message up the stream: the edge's optional timing of a step it got the token of
     * (docs/PROTOCOL.md), recorded for the dashboard. Anything else, or a timing that fails the
     * checks, is refused with {@code bad_timing} and counts as a strike like a refused frame (a
     * socket that sends only junk, text or binary, is closed); the session is never touched.
     */
    private void onText(io.javalin.websocket.WsMessageContext ctx) {
        CloudSession s = ctx.attribute(SESSION_ATTR);
        if (s == null || s.closed()) {
            send(ctx, new ErrorMessage("closed", "session is closed", -1, true));
            ctx.closeSession(1008, "session closed");
            return;
        }
        ErrorMessage refused = dashboard.onText(s, ctx.message());
        if (refused != null) refuse(ctx, refused);
    }

    /** Answers a refused frame; a socket that sends nothing but refused frames is closed. */
    private void refuse(WsContext ctx, ErrorMessage error) {
        metrics.error(error.code());
        send(ctx, error);
        if (guard(ctx).badFrame()) {
            metrics.error("too_many_bad_frames");
            String reason = SocketGuard.MAX_CONSECUTIVE_BAD_FRAMES + " refused frames in a row";
            forget(ctx);
            Session session = ctx.session;
            session.close(1008, reason, Callback.from(session::disconnect, t -> session.disconnect()));
        }
    }

    /** The restore count stamped on the socket when it opened (-1 before it is connected). */
    private static long restoresOf(WsContext ctx) {
        Long r = ctx.attribute(RESTORES_ATTR);
        return r == null ? -1 : r;
    }

    private static SocketGuard guard(WsContext ctx) {
        SocketGuard g = ctx.attribute(GUARD_ATTR);
        return g != null ? g : new SocketGuard(); // not yet connected: nothing to count against
    }

    /**
     * Queues a JSON message without blocking; a client with {@link SocketGuard#MAX_PENDING_REPLIES}
     * replies unread is cut off rather than buffered for.
     */
    private void send(WsContext ctx, Object message) {
        String text;
        try {
            text = json.writeValueAsString(message);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        SocketGuard g = guard(ctx);
        if (!g.replyQueued()) {
            g.replyDone();
            metrics.error("slow_reader");
            LOG.debug("closing a socket with {} unread replies", g.pendingReplies());
            forget(ctx);
            ctx.session.disconnect();
            return;
        }
        metrics.bytesOut.add(text.length());
        try {
            ctx.session.sendText(text, Callback.from(g::replyDone, t -> g.replyDone()));
        } catch (RuntimeException e) {
            g.replyDone();
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

    /** #17: ticks run, rows they carried, most sessions in one tick (so far); null when unbatched. */
    public long[] batchingStats() {
        return scheduler == null ? null : scheduler.stats();
    }

    /** The Prometheus text exposition that {@code GET /metrics} serves, for tests and the demo. */
    public String metricsText() {
        return metrics.render();
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
        registry.closeAll(); // ends every cloud generation at its next token
        cloudGenerations.shutdown();
        if (scheduler != null) scheduler.close();
        if (app != null) {
            app.stop();
        }
    }
}
