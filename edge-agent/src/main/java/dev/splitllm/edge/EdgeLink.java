package dev.splitllm.edge;

import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.quantization.protocol.ErrorMessage;
import dev.splitllm.quantization.protocol.SessionCreated;
import dev.splitllm.quantization.protocol.SessionRequest;
import dev.splitllm.quantization.protocol.TokenMessage;
import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * The edge's transport to its cloud session, the counterpart of the cloud's REST and WebSocket
 * layer: creates the session ({@code POST /v1/sessions}), sends each step's frame up the session's
 * WebSocket and waits for its token, reconnects with backoff and resends the frame in flight when
 * the link drops (the server's step numbering makes the resend harmless), and deletes the session
 * on close. {@link #cancel} may be called from any thread; everything else from the one thread
 * that drives the session.
 */
final class EdgeLink implements AutoCloseable {
    private static final MediaType JSON = MediaType.get("application/json");
    /** Longest single wait on the socket, so a cancel that races a reconnect is still seen promptly. */
    private static final long POLL_SLICE_MS = 250;

    private final EdgeOptions options;
    private final OkHttpClient http;
    private final SessionCreated created;
    private final CountDownLatch cancelSignal = new CountDownLatch(1);
    /** Written by the driving thread, read by {@link #cancel} to wake a waiter. */
    private volatile StreamConnection connection;
    private volatile boolean cancelled;
    private boolean closed;

    /** The token of one step and the reconnects it took. */
    record Answer(TokenMessage token, int reconnects) {
    }

    /** {@link #cancel} was called: the step in flight is abandoned. */
    static final class Cancelled extends RuntimeException {
        Cancelled() {
            super("cancelled", null, false, false);
        }
    }

    /** The link failed in a way a reconnect may cure. */
    private static final class LinkLost extends RuntimeException {
        LinkLost(String message) {
            super(message);
        }
    }

    private EdgeLink(EdgeOptions options, OkHttpClient http, SessionCreated created) {
        this.options = options;
        this.http = http;
        this.created = created;
    }

    /**
     * Creates the cloud half of a session for an edge holding blocks [0, splitLayer) of a model of
     * width {@code dim}; refuses (and deletes) a session whose shape does not match.
     */
    static EdgeLink open(EdgeOptions options, int splitLayer, int dim) {
        OkHttpClient http = new OkHttpClient.Builder()
                .connectTimeout(10, TimeUnit.SECONDS)
                .readTimeout(options.stepTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .build();
        SessionRequest req = new SessionRequest(splitLayer, options.codec().toString(), options.cloudWeights(),
                options.maxSeqLen(), options.temperature(), options.topP(), options.seed());
        SessionCreated created;
        try {
            created = ProtocolJson.sessionCreated(post(http, options, "/v1/sessions", req));
        } catch (RuntimeException e) {
            http.dispatcher().executorService().shutdown();
            throw e;
        }
        EdgeLink link = new EdgeLink(options, http, created);
        try {
            if (created.dim() != dim || created.splitLayer() != splitLayer) {
                throw new EdgeException("protocol", "server model (d=" + created.dim() + ") or split (" + created.splitLayer()
                        + ") does not match the edge's (d=" + dim + ", split " + splitLayer + ")");
            }
            checkStreamPath(created);
            return link;
        } catch (RuntimeException e) {
            // Do not leave the cloud half holding a slot and KV memory until it expires.
            link.close();
            throw e;
        }
    }

    SessionCreated created() {
        return created;
    }

    /**
     * Sends the frame of {@code step} and waits for its token, reconnecting and resending on link
     * loss up to the configured number of times.
     *
     * @throws Cancelled     when {@link #cancel} was called before or during the exchange
     * @throws EdgeException when the cloud refused the step or the link failed for good
     */
    Answer exchange(byte[] frame, long step) {
        int reconnects = 0;
        while (true) {
            checkCancelled();
            try {
                StreamConnection c = connection;
                if (c == null) {
                    c = new StreamConnection(http, wsUrl(), options.token());
                    connection = c;
                    checkCancelled(); // cancel() may have looked before this socket was published
                }
                if (!c.send(frame)) {
                    throw new LinkLost("socket is closing");
                }
                return new Answer(awaitAnswer(c, step), reconnects);
            } catch (LinkLost e) {
                discardConnection();
                if (reconnects++ >= options.maxReconnects()) {
                    throw new EdgeException("link", "lost the connection to the cloud at step " + step + " after "
                            + options.maxReconnects() + " reconnects: " + e.getMessage());
                }
                backoff(reconnects);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EdgeException("interrupted", "interrupted while waiting for step " + step);
            }
        }
    }

    private TokenMessage awaitAnswer(StreamConnection c, long step) throws InterruptedException {
        long deadline = System.nanoTime() + options.stepTimeout().toNanos();
        while (true) {
            checkCancelled();
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new LinkLost("no answer within " + options.stepTimeout().toMillis() + " ms");
            }
            StreamConnection.Event ev = c.poll(Math.min(left, POLL_SLICE_MS));
            checkCancelled();
            if (ev == null || ev.isWake()) continue;
            if (ev.ended()) {
                if (ev.httpStatus() == 401 || ev.httpStatus() == 403) {
                    throw new EdgeException("unauthorized", "the cloud refused the token for session " + created.sessionId());
                }
                if (ev.httpStatus() == 404) {
                    throw new EdgeException("not_found", "the cloud no longer knows session " + created.sessionId()
                            + " (closed or expired after being idle)");
                }
                throw new LinkLost(ev.why());
            }
            JsonNode node;
            try {
                node = ProtocolJson.parse(ev.text());
            } catch (IOException e) {
                throw new EdgeException("protocol", "unreadable message from the server: " + ev.text());
            }
            String type = node.path("type").asText();
            if (TokenMessage.TYPE.equals(type)) {
                TokenMessage msg = ProtocolJson.token(node);
                if (msg.step() == step) return msg;
                continue; // an answer to an earlier resend: already handled
            }
            if (ErrorMessage.TYPE.equals(type)) {
                ErrorMessage err = ProtocolJson.error(node);
                throw new EdgeException(err.code(), "cloud refused step " + step + ": " + err.message());
            }
            throw new EdgeException("protocol", "unexpected message from the server: " + ev.text());
        }
    }

    /**
     * Asks the session to stop: a thread waiting for a token (or backing off before a reconnect)
     * returns at once with {@link Cancelled}, and every later exchange does too. Safe from any
     * thread, at any time, more than once.
     */
    void cancel() {
        cancelled = true;
        cancelSignal.countDown();
        StreamConnection c = connection;
        if (c != null) {
            c.wake();
        }
    }

    boolean cancelled() {
        return cancelled;
    }

    private void checkCancelled() {
        if (cancelled) {
            throw new Cancelled();
        }
    }

    /** Waits before a reconnect, 100 ms doubling up to 1.6 s; a cancel cuts the wait short. */
    private void backoff(int attempt) {
        try {
            cancelSignal.await(Math.min(2000, 50L << Math.min(attempt, 5)), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EdgeException("interrupted", "interrupted while waiting to reconnect");
        }
    }

    /**
     * Kills the live socket without a close handshake, as a lost link would; the session notices
     * on its next send or wait (tests use it to simulate link loss).
     */
    void dropConnection() {
        StreamConnection c = connection;
        if (c != null) {
            c.cancel();
        }
    }

    private void discardConnection() {
        StreamConnection c = connection;
        if (c != null) {
            c.cancel();
            connection = null;
        }
    }

    private String wsUrl() {
        String base = options.server().toString().replaceFirst("^http", "ws");
        if (base.endsWith("/")) base = base.substring(0, base.length() - 1);
        return base + created.streamPath();
    }

    /** Closes the stream and deletes the cloud session ({@code DELETE /v1/sessions/{id}}). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        StreamConnection c = connection;
        connection = null;
        if (c != null) {
            c.close();
        }
        delete();
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    /** {@code DELETE /v1/sessions/{id}}, best effort: a 404 (already expired) or an unreachable server is fine. */
    private void delete() {
        Request req = new Request.Builder().url(url(options, "/v1/sessions/" + created.sessionId()))
                .header("Authorization", "Bearer " + options.token()).delete().build();
        try (Response ignored = http.newCall(req).execute()) {
            // 204, or 404 if it already expired: either way it is gone
        } catch (IOException e) {
            // the server will expire it
        }
    }

    /** The stream path comes from the server: accept only our own path shape, never another host. */
    private static void checkStreamPath(SessionCreated created) {
        String id = created.sessionId();
        String p = created.streamPath();
        if (id == null || !id.matches("[0-9a-f]{32}") || !("/v1/sessions/" + id + "/stream").equals(p)) {
            throw new EdgeException("protocol", "unexpected session id or stream path from the server: " + id + ", " + p);
        }
    }

    private static JsonNode post(OkHttpClient http, EdgeOptions options, String path, SessionRequest body) {
        try {
            Request req = new Request.Builder().url(url(options, path))
                    .header("Authorization", "Bearer " + options.token())
                    .post(RequestBody.create(ProtocolJson.write(body), JSON)).build();
            try (Response resp = http.newCall(req).execute()) {
                String text = resp.body().string();
                if (!resp.isSuccessful()) {
                    String code = "http_" + resp.code(), message = text;
                    try {
                        ErrorMessage err = ProtocolJson.error(ProtocolJson.parse(text));
                        if (err.code() != null) {
                            code = err.code();
                            message = err.message();
                        }
                    } catch (IOException ignored) {
                        // not our JSON error body; show it raw
                    }
                    throw new EdgeException(code, "server refused " + path + " (HTTP " + resp.code() + "): " + message);
                }
                return ProtocolJson.parse(text);
            }
        } catch (IOException e) {
            throw new EdgeException("link", "cannot reach " + options.server() + ": " + e.getMessage(), e);
        }
    }

    private static String url(EdgeOptions options, String path) {
        String base = options.server().toString();
        return (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path;
    }
}
