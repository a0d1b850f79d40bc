package dev.splitllm.edge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.protocol.ErrorMessage;
import dev.splitllm.quantization.protocol.MoveRequest;
import dev.splitllm.quantization.protocol.SessionMoved;
import dev.splitllm.quantization.protocol.ReplayRequest;
import dev.splitllm.quantization.protocol.SessionCreated;
import dev.splitllm.quantization.protocol.SessionReplayed;
import dev.splitllm.quantization.protocol.SessionRequest;
import dev.splitllm.quantization.protocol.TimingMessage;
import dev.splitllm.quantization.protocol.TokenMessage;
import dev.splitllm.quantization.wire.FrameCodec;
import dev.splitllm.quantization.wire.FrameException;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
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
 * on close. When the replica that held the session is gone (lost, drained, or holding a stale
 * copy), it replays its {@link ReplayLog} to whichever replica the session id now routes to, which
 * answers the step in flight (docs/PROTOCOL.md, "Failover"). {@link #cancel} may be called from any thread; everything else from the one thread
 * that drives the session.
 */
final class EdgeLink implements AutoCloseable {
    private static final MediaType JSON = MediaType.get("application/json");
    private static final MediaType BINARY = MediaType.get("application/octet-stream");
    /** The server's refusal of a timing message; the step it concerns is unharmed. */
    static final String BAD_TIMING = "bad_timing";
    /** The server's "session moved" close code (a draining replica); mirrors CloudServer.CLOSE_MOVED. */
    static final int CLOSE_MOVED = 4302;
    /** The server's "restored by another edge" close code; mirrors CloudServer.CLOSE_RESTORED. */
    static final int CLOSE_RESTORED = 4409;
    /** The server's refusal of a mirror frame; the steps are unharmed. */
    static final String BAD_MIRROR = "bad_mirror";
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Longest single wait on the socket, so a cancel that races a reconnect is still seen promptly. */
    private static final long POLL_SLICE_MS = 250;

    private final EdgeOptions options;
    private final OkHttpClient http;
    private final SessionCreated created;
    /**
     * False once a replay reached a replica that did not say it takes compact frames: from then on
     * every frame is rewritten as a full one before it is logged and sent. Replays always send full
     * frames, since the replica a failover reaches is not known beforehand.
     */
    private volatile boolean compactAccepted = true;
    private final ReplayLog log;
    private final List<Failover> failovers = new ArrayList<>();
    /** The session's epoch as the edge knows it: 0, then one more per replay. */
    private long epoch;
    private final CountDownLatch cancelSignal = new CountDownLatch(1);
    /** Written by the driving thread, read by {@link #cancel} to wake a waiter. */
    private volatile StreamConnection connection;
    private volatile boolean cancelled;
    private boolean closed;
    /** Timing messages sent, and whether the server turned them down as an older server does. */
    private int timingsSent;
    private boolean timingsRefused;

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
    private static class LinkLost extends RuntimeException {
        LinkLost(String message) {
            super(message);
        }
    }

    /** The replica reached does not hold the session (any more): replay the log there. */
    private static final class SessionGone extends LinkLost {
        SessionGone(String message) {
            super(message);
        }
    }

    private EdgeLink(EdgeOptions options, OkHttpClient http, SessionCreated created) {
        this.options = options;
        this.http = http;
        this.created = created;
        this.log = new ReplayLog(created.maxSeqLen());
        this.epoch = created.epoch();
    }

    /**
     * Creates the cloud half of a session for an edge holding blocks [0, splitLayer) of a model of
     * width {@code dim}; refuses (and deletes) a session whose shape does not match.
     */
    static EdgeLink open(EdgeOptions options, int splitLayer, int dim) {
        OkHttpClient http = client(options);
        SessionRequest req = new SessionRequest(splitLayer, options.codec().toString(), options.cloudWeights(),
                options.maxSeqLen(), options.temperature(), options.topP(), options.seed());
        SessionCreated created;
        try {
            // The edge names the session (128 random bits), so a proxy that routes by the id in the
            // path sends the creation to the same replica as every later request of the session.
            String id = newSessionId();
            byte[] body;
            try {
                body = ProtocolJson.write(req);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            created = ProtocolJson.sessionCreated(create(http, options, "/v1/sessions/" + id, body));
            if (!id.equals(created.sessionId())) {
                throw new EdgeException("protocol", "asked for session " + id + ", the server created " + created.sessionId());
            }
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

    private static OkHttpClient client(EdgeOptions options) {
        OkHttpClient.Builder b = new OkHttpClient.Builder()
                .socketFactory(new NoDelaySocketFactory()) // small back-to-back writes: no Nagle delay
                .connectTimeout(Math.min(10_000, options.stepTimeout().toMillis()), TimeUnit.MILLISECONDS)
                .readTimeout(options.stepTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .callTimeout(options.totalTimeout().toMillis(), TimeUnit.MILLISECONDS); // REST calls: the total deadline
        if (options.trust() != null) {
            b.sslSocketFactory(options.trust().socketFactory(), options.trust().trustManager());
        }
        return b.build();
    }

    /**
     * {@code POST /v1/sessions/{id}/restore}: takes an existing session back in a new edge process
     * (docs/PROTOCOL.md, "Hand-off and restore"). The returned link speaks for the session at its
     * new epoch; {@link #restored()} says where it stands.
     */
    static EdgeLink restore(EdgeOptions options, String sessionId, int dim) {
        if (sessionId == null || !sessionId.matches("[0-9a-f]{32}")) {
            throw new IllegalArgumentException("a session id is 32 lower-case hex digits, got " + sessionId);
        }
        OkHttpClient http = client(options);
        dev.splitllm.quantization.protocol.SessionRestored r;
        String where = url(options, "/v1/sessions/" + sessionId + "/restore");
        try {
            Request req = new Request.Builder().url(where).header("Authorization", "Bearer " + options.token())
                    .post(RequestBody.create(new byte[0], JSON)).build();
            try (Response resp = http.newCall(req).execute()) {
                String text = resp.body().string();
                if (resp.code() != 200) {
                    throw new EdgeException(errorCode(text, resp.code()), "restore of session " + sessionId + " refused by "
                            + options.server() + " (HTTP " + resp.code() + "): " + errorText(text));
                }
                r = ProtocolJson.sessionRestored(ProtocolJson.parse(text));
            }
        } catch (javax.net.ssl.SSLException e) {
            http.dispatcher().executorService().shutdown();
            throw new EdgeException("tls", tlsAdvice(options, e.toString()), e);
        } catch (IOException e) {
            http.dispatcher().executorService().shutdown();
            throw new EdgeException("link", "cannot reach " + where + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            http.dispatcher().executorService().shutdown();
            throw e;
        }
        EdgeLink link = new EdgeLink(options, http, r.session());
        link.restored = r;
        link.log.startAt(r.nextStep(), r.positions());
        link.replayBlocked = "the session was restored at step " + r.nextStep() + " and the edge holds no log of the steps before";
        try {
            checkStreamPath(r.session());
            if (!sessionId.equals(r.session().sessionId()) || r.session().dim() != dim || r.tokens() == null
                    || r.tokens().length < 1) {
                throw new EdgeException("protocol", "the restore answer names session " + r.session().sessionId() + " of width d="
                        + r.session().dim() + " with " + (r.tokens() == null ? 0 : r.tokens().length) + " tokens; expected "
                        + sessionId + ", d=" + dim + " and at least one token");
            }
            return link;
        } catch (RuntimeException e) {
            link.detach(); // the session is the cloud's to keep: never delete it on a bad answer
            link.close();
            throw e;
        }
    }

    /**
     * {@code GET /v1/sessions/{id}/mirror}: the cloud's mirror of the edge's layers as one SPKV frame,
     * or null when it holds none or cannot be reached (the caller then recomputes).
     */
    byte[] mirrorDown() {
        Request req = new Request.Builder().url(url(options, "/v1/sessions/" + created.sessionId() + "/mirror"))
                .header("Authorization", "Bearer " + options.token()).get().build();
        try (Response resp = http.newCall(req).execute()) {
            return resp.code() == 200 ? resp.body().bytes() : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** What the restore answered, or null for a link that created its session. */
    dev.splitllm.quantization.protocol.SessionRestored restored() {
        return restored;
    }

    private dev.splitllm.quantization.protocol.SessionRestored restored;
    /** Why a lost replica cannot be rebuilt by replay any more (a hand-off, a restore), or null. */
    private String replayBlocked;
    /** The cut a replay names and the ticket for it (a move changes both). */
    private int replaySplit = -1;
    private String replayTicket;
    /** Steps before this one were sent at another cut: a replay re-encodes them at the current one (0: none). */
    private long rebaseBefore;
    /** Re-encodes steps [0, n) at a cut, as the session would have sent them there (set by the session). */
    private java.util.function.BiFunction<Integer, Long, List<byte[]>> rebaser;

    /** Lets a replay after a move re-encode the earlier steps at the current cut (see {@link EdgeStepper#cutFrames}). */
    void rebaser(java.util.function.BiFunction<Integer, Long, List<byte[]>> r) {
        this.rebaser = r;
    }
    /** True once {@link #detach} was called: close leaves the cloud session alone. */
    private volatile boolean detached;

    /**
     * Lets go of the session without deleting it: the cloud keeps it (generating alone if it was
     * handed off) until it is restored, deleted or idle too long. A wait in progress returns at once.
     */
    void detach() {
        detached = true;
        cancel();
    }

    boolean detached() {
        return detached;
    }

    /**
     * Sends an SPKV mirror frame up the live socket, fire and forget (the cloud answers only a
     * refusal). Returns false when no socket is open (the frame is not sent; the next one starts
     * at the same position).
     */
    boolean sendMirror(byte[] frame) {
        StreamConnection c = connection;
        if (c == null || cancelled) return false;
        return c.send(frame);
    }

    /** Set when the cloud refused a mirror frame: the edge stops mirroring (moves then send all their KV). */
    private volatile String mirrorRefused;

    String mirrorRefused() {
        return mirrorRefused;
    }

    /** The cloud-only token stream of a hand-off, as it arrives. */
    interface CloudTokens {
        /** The cloud took the session over (the first line). */
        void handedOff(dev.splitllm.quantization.protocol.HandedOff h);

        /** The {@code index}-th token of the session. */
        void token(int index, int token);
    }

    /**
     * {@code POST /v1/sessions/{id}/handoff}, then reads the token stream to its end; if the stream
     * breaks after the cloud took over, follows {@code GET .../tokens?from=N} (with the reconnect
     * budget) from the first token not yet seen. Returns the end line's stop reason; a detach or
     * cancel returns {@code detached} / {@code cancelled} at once.
     */
    String handOff(dev.splitllm.quantization.protocol.HandOffRequest head, byte[] kvUp, int firstIndex, CloudTokens sink) {
        byte[] json;
        try {
            json = ProtocolJson.write(head);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        OkHttpClient streaming = http.newBuilder().callTimeout(0, TimeUnit.MILLISECONDS).build(); // the stream lasts a generation
        Request req = new Request.Builder().url(url(options, "/v1/sessions/" + created.sessionId() + "/handoff"))
                .header("Authorization", "Bearer " + options.token()).post(RequestBody.create(envelope(json, kvUp), BINARY)).build();
        int[] next = {firstIndex};
        boolean[] took = {false};
        try (Response resp = streaming.newCall(req).execute()) {
            if (resp.code() != 200) {
                String text = resp.body().string();
                throw new EdgeException(errorCode(text, resp.code()), "hand-off at step " + head.step() + " refused (HTTP "
                        + resp.code() + "): " + errorText(text));
            }
            String end = readTokens(resp, next, took, sink);
            if (end != null) return end;
        } catch (javax.net.ssl.SSLException e) {
            throw new EdgeException("tls", tlsAdvice(options, e.toString()), e);
        } catch (IOException e) {
            if (!took[0]) {
                throw new EdgeException("link", "hand-off at step " + head.step() + " failed before the cloud answered: "
                        + e.getMessage() + " (the cloud may hold the session: restore it with its id " + created.sessionId() + ")", e);
            }
        }
        if (cancelled) return detached ? "detached" : EdgeSession.CANCELLED;
        epoch = Math.max(epoch, head.epoch() + 1);
        for (int attempt = 1; attempt <= options.maxReconnects(); attempt++) { // the stream broke: follow it again
            backoff(attempt);
            if (cancelled) return detached ? "detached" : EdgeSession.CANCELLED;
            Request follow = new Request.Builder().url(url(options, "/v1/sessions/" + created.sessionId() + "/tokens?from=" + next[0]))
                    .header("Authorization", "Bearer " + options.token()).get().build();
            try (Response resp = streaming.newCall(follow).execute()) {
                if (resp.code() != 200) {
                    String text = resp.body().string();
                    throw new EdgeException(errorCode(text, resp.code()), "following the cloud's tokens refused (HTTP "
                            + resp.code() + "): " + errorText(text));
                }
                String end = readTokens(resp, next, took, sink);
                if (end != null) return end;
            } catch (IOException e) {
                // try again
            }
        }
        throw new EdgeException("link", "lost the cloud's token stream at token " + next[0] + " after " + options.maxReconnects()
                + " reconnects (the cloud goes on: restore session " + created.sessionId() + " to pick it up)");
    }

    /** Reads NDJSON lines until the end line (its stop reason) or a cancel (null on a broken stream). */
    private String readTokens(Response resp, int[] next, boolean[] took, CloudTokens sink) throws IOException {
        okio.BufferedSource in = resp.body().source();
        while (true) {
            if (cancelled) return detached ? "detached" : EdgeSession.CANCELLED;
            String line = in.readUtf8Line();
            if (line == null) return null;
            JsonNode n = ProtocolJson.parse(line);
            String type = n.path("type").asText();
            if (dev.splitllm.quantization.protocol.HandedOff.TYPE.equals(type)) {
                dev.splitllm.quantization.protocol.HandedOff h = ProtocolJson.handedOff(n);
                epoch = h.epoch();
                replayBlocked = "the session was handed off to the cloud";
                took[0] = true;
                sink.handedOff(h);
            } else if (dev.splitllm.quantization.protocol.CloudToken.TYPE.equals(type)) {
                took[0] = true;
                int index = n.path("index").asInt(), token = n.path("token").asInt();
                if (index < next[0]) continue; // seen before the stream broke
                if (index != next[0]) throw new EdgeException("protocol", "the cloud sent token " + index + ", expected " + next[0]);
                next[0]++;
                sink.token(index, token);
            } else if (dev.splitllm.quantization.protocol.GenerationEnd.TYPE.equals(type)) {
                return n.path("stop").asText("edge");
            } else {
                throw new EdgeException("protocol", "unexpected line in the token stream: " + line);
            }
        }
    }

    /** The failovers so far, oldest first. */
    List<Failover> failovers() {
        return List.copyOf(failovers);
    }

    /** Frames, bytes and positions the replay log holds now. */
    ReplayLog log() {
        return log;
    }

    private static String newSessionId() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        StringBuilder hex = new StringBuilder(32);
        for (byte x : b) hex.append(Character.forDigit((x >> 4) & 15, 16)).append(Character.forDigit(x & 15, 16));
        return hex.toString();
    }

    /**
     * Sends the frame of {@code step} and waits for its token, reconnecting and resending on link
     * loss up to the configured number of times.
     *
     * @throws Cancelled     when {@link #cancel} was called before or during the exchange
     * @throws EdgeException when the cloud refused the step or the link failed for good
     */
    Answer exchange(byte[] frame, long step, int tokens) {
        if (!compactAccepted) frame = fullFrame(frame);
        log.add(step, frame, tokens); // before sending: a replay must include the step in flight
        int reconnects = 0;
        boolean replayNext = false;
        long lostAt = 0;
        long t0 = System.nanoTime();
        long totalDeadline = t0 + options.totalTimeout().toNanos();
        while (true) {
            checkCancelled();
            if (System.nanoTime() >= totalDeadline) {
                throw new EdgeException("timeout", "gave up on step " + step + " after " + options.totalTimeout().toSeconds()
                        + " s (the total deadline) and " + reconnects + " reconnects: the cloud at " + options.server()
                        + " does not answer");
            }
            try {
                if (replayNext) {
                    Failover f = replay(step, lostAt);
                    failovers.add(f);
                    return new Answer(new TokenMessage(step, replayedToken, f.cloudMs(), replayedAccepted), reconnects);
                }
                StreamConnection c = connection;
                if (c == null) {
                    c = new StreamConnection(http, wsUrl(), options.token());
                    connection = c;
                    checkCancelled(); // cancel() may have looked before this socket was published
                }
                if (!c.send(frame)) {
                    throw new LinkLost("socket is closing");
                }
                return new Answer(awaitAnswer(c, step, totalDeadline), reconnects);
            } catch (LinkLost e) {
                discardConnection();
                if (lostAt == 0) lostAt = System.nanoTime();
                boolean gone = e instanceof SessionGone;
                replayNext |= gone;
                if (System.nanoTime() >= totalDeadline) {
                    throw new EdgeException("timeout", "gave up on step " + step + " after " + options.totalTimeout().toSeconds()
                            + " s (the total deadline) and " + reconnects + " reconnects: " + e.getMessage());
                }
                if (reconnects++ >= options.maxReconnects()) {
                    throw new EdgeException("link", "lost the connection to the cloud at " + options.server() + " at step "
                            + step + " after " + options.maxReconnects() + " reconnects: " + e.getMessage());
                }
                if (!gone) backoff(reconnects); // a replica that says "not here" or "moved" is answered at once: replay
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EdgeException("interrupted", "interrupted while waiting for step " + step);
            }
        }
    }

    /** The answer to a move: the new epoch's head, and the KV frame that came down (null when none). */
    record MoveAnswer(SessionMoved moved, byte[] kvDown, long bytesUp, double ms) {
    }

    /** The session's epoch as the edge knows it (every move and every replay adds one). */
    long epoch() {
        return epoch;
    }

    /**
     * {@code POST /v1/sessions/{id}/move} between two steps: the head and (toward the cloud) the KV
     * frame up; the answer and (toward the edge, down=transfer) the KV frame down. On success the
     * edge's epoch is the cloud's new one. A refusal throws an {@link EdgeException} naming the
     * cloud's reason (the session stays on its old cut on both sides); a lost link is retried once,
     * and a repeat of a move the cloud already made gets the same answer.
     */
    MoveAnswer move(int from, int to, long step, int positions, String kv, String down, byte[] kvUp) {
        return move(from, to, step, positions, kv, down, kvUp, 0);
    }

    /** As above, toward the cloud with {@code mirrored} positions already on the cloud (the frame up covers the rest). */
    MoveAnswer move(int from, int to, long step, int positions, String kv, String down, byte[] kvUp, int mirrored) {
        MoveRequest head = new MoveRequest(from, to, epoch, step, positions, kv, down, mirrored);
        byte[] json;
        try {
            json = ProtocolJson.write(head);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        byte[] body = envelope(json, kvUp);
        String path = "/v1/sessions/" + created.sessionId() + "/move";
        long t0 = System.nanoTime();
        IOException lost = null;
        for (int attempt = 0; attempt < 2; attempt++) {
            checkCancelled();
            Request req = new Request.Builder().url(url(options, path)).header("Authorization", "Bearer " + options.token())
                    .post(RequestBody.create(body, BINARY)).build();
            try (Response resp = http.newCall(req).execute()) {
                byte[] answer = resp.body().bytes();
                if (resp.code() != 200) {
                    String text = new String(answer, java.nio.charset.StandardCharsets.UTF_8);
                    throw new EdgeException(errorCode(text, resp.code()), "move of the cut " + from + " -> " + to + " at step "
                            + step + " refused (HTTP " + resp.code() + "): " + errorText(text));
                }
                java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(answer);
                int n = in.remaining() >= 4 ? in.getInt() : -1;
                if (n < 2 || n > in.remaining()) throw new EdgeException("protocol", "unreadable move answer of " + answer.length + " bytes");
                byte[] headBytes = new byte[n];
                in.get(headBytes);
                SessionMoved moved = ProtocolJson.sessionMoved(ProtocolJson.parse(new String(headBytes,
                        java.nio.charset.StandardCharsets.UTF_8)));
                byte[] kvDown = null;
                if (in.hasRemaining()) {
                    kvDown = new byte[in.remaining()];
                    in.get(kvDown);
                }
                if (moved.splitLayer() != to || moved.epoch() != epoch + 1 || moved.positions() != positions
                        || moved.kvBytes() != (kvDown == null ? 0 : kvDown.length)) {
                    throw new EdgeException("protocol", "the move answer names split " + moved.splitLayer() + " epoch "
                            + moved.epoch() + " positions " + moved.positions() + " with " + moved.kvBytes() + " KV bytes; expected split "
                            + to + " epoch " + (epoch + 1) + " positions " + positions);
                }
                epoch = moved.epoch();
                if (moved.resumeTicket() != null && rebaser != null) {
                    replaySplit = to; // a replay now names the new cut; the steps before this one are re-encoded there
                    replayTicket = moved.resumeTicket();
                    rebaseBefore = step;
                } else {
                    replayBlocked = "the cut moved at step " + step + " and the server issued no resume ticket for the new cut";
                }
                return new MoveAnswer(moved, kvDown, body.length, (System.nanoTime() - t0) / 1e6);
            } catch (javax.net.ssl.SSLException e) {
                throw new EdgeException("tls", tlsAdvice(options, e.toString()), e);
            } catch (IOException e) {
                lost = e;
            }
        }
        throw new EdgeException("link", "move of the cut " + from + " -> " + to + " failed: " + lost.getMessage(), lost);
    }

    /** A 4-byte big-endian length, the JSON head, then the binary part (if any): the move and hand-off bodies. */
    static byte[] envelope(byte[] json, byte[] tail) {
        byte[] out = new byte[4 + json.length + (tail == null ? 0 : tail.length)];
        java.nio.ByteBuffer.wrap(out).putInt(json.length).put(json).put(tail == null ? new byte[0] : tail);
        return out;
    }

    /** The DRAFT step {@code step} was answered: its log entry becomes what the cloud kept of it. */
    void commitDraft(long step, byte[] keptFrame, int keptTokens, int sentTokens) {
        log.replaceLast(step, keptFrame, keptTokens, sentTokens);
    }

    /**
     * Sends the edge's timing of {@code step}, whose token has just arrived, up the live socket
     * (docs/PROTOCOL.md, "Timing"): fire and forget, no answer awaited. Best effort: with no live
     * socket, or once a server has shown it does not take them, nothing is sent.
     *
     * @return true when the message was queued
     */
    boolean sendTiming(long step, double edgeMs, double encodeMs, double roundTripMs) {
        StreamConnection c = connection;
        if (c == null || timingsRefused || cancelled) return false;
        TimingMessage m = new TimingMessage(step, bound(edgeMs), bound(encodeMs), bound(roundTripMs));
        // Written by hand, as ProtocolJson does: no record binding on Android.
        String text = JsonNodeFactory.instance.objectNode().put("type", m.type()).put("step", m.step())
                .put("edgeMs", m.edgeMs()).put("encodeMs", m.encodeMs()).put("roundTripMs", m.roundTripMs()).toString();
        if (!c.sendText(text)) return false;
        timingsSent++;
        return true;
    }

    /** Microseconds are enough, and the server refuses anything out of [0, MAX_MS). */
    private static double bound(double ms) {
        if (!(ms >= 0)) return 0; // NaN or negative: a clock oddity, not worth a refusal
        return Math.min(Math.round(ms * 1000) / 1000.0, TimingMessage.MAX_MS - 1);
    }

    private TokenMessage awaitAnswer(StreamConnection c, long step, long totalDeadline) throws InterruptedException {
        long deadline = Math.min(totalDeadline, System.nanoTime() + options.stepTimeout().toNanos());
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
                if (ev.tlsFailure()) {
                    throw new EdgeException("tls", tlsAdvice(options, ev.why()));
                }
                if (ev.httpStatus() == 401 || ev.httpStatus() == 403) {
                    throw new EdgeException("unauthorized", "the cloud refused the token for session " + created.sessionId());
                }
                if (replayable() && (ev.httpStatus() == 404 || ev.httpStatus() == 409)) {
                    throw new SessionGone("the replica reached does not hold session " + created.sessionId() + " at epoch "
                            + epoch + " (" + ev.why() + ")");
                }
                if (ev.closeCode() == CLOSE_RESTORED) {
                    throw new EdgeException("restored_elsewhere", "session " + created.sessionId()
                            + " was restored by another edge process; this one must stop");
                }
                if (replayable() && ev.closeCode() == CLOSE_MOVED) {
                    throw new SessionGone("session moved: " + ev.why());
                }
                if (ev.httpStatus() == 404) {
                    throw new EdgeException("not_found", "the cloud no longer knows session " + created.sessionId()
                            + " (closed or expired after being idle" + (replayBlocked == null ? "" : "; no replay: " + replayBlocked) + ")");
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
                if (BAD_TIMING.equals(err.code())) {
                    continue; // a refused timing message: the dashboard misses one step, the session goes on
                }
                if (BAD_MIRROR.equals(err.code())) {
                    mirrorRefused = err.message(); // the mirror stops; moves and hand-offs send all their KV
                    continue;
                }
                if (timingsSent > 0 && !timingsRefused && "bad_frame".equals(err.code()) && err.step() < 0
                        && err.message() != null && err.message().startsWith("text messages are not accepted")) {
                    timingsRefused = true; // a server from before timing messages: stop sending them
                    continue;
                }
                if (replayable() && "closed".equals(err.code())) {
                    throw new SessionGone("the replica closed session " + created.sessionId() + ": " + err.message());
                }
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
        return base + created.streamPath() + "?epoch=" + epoch; // a replica with an older copy refuses it (409)
    }

    /** True when the server issued a resume ticket: the session can be replayed on another replica. */
    private boolean replayable() {
        return created.resumeTicket() != null && replayBlocked == null;
    }

    /** The token of the last replay (for the step in flight) and the drafts it kept; read right after {@link #replay}. */
    private int replayedToken;
    private int replayedAccepted;

    /**
     * {@code POST /v1/sessions/{id}/replay} with the whole log; the replica the id routes to
     * rebuilds the session with one batched forward and answers {@code step}. A transport failure
     * or a 502/503/504 (proxy, draining replica) is a {@link LinkLost}: retried like a reconnect.
     */
    private Failover replay(long step, long lostAt) {
        int split = replaySplit >= 0 ? replaySplit : created.splitLayer();
        ReplayRequest head = new ReplayRequest(split, created.codec(), created.cloudWeights(),
                created.maxSeqLen(), options.temperature(), options.topP(), options.seed(), created.frameSession(), epoch,
                replayTicket != null ? replayTicket : created.resumeTicket(), log.frames());
        List<byte[]> rebased = List.of();
        if (rebaseBefore > 0) {
            if (!log.singlePositionStepsBefore(rebaseBefore)) {
                throw new EdgeException("not_replayable", "session " + created.sessionId() + " lost its replica after a move of the"
                        + " cut, and steps before the move kept drafts: its log cannot be re-encoded at the new cut");
            }
            rebased = rebaser.apply(split, rebaseBefore); // the steps sent at earlier cuts, as the current cut would have sent them
        }
        byte[] body;
        try {
            body = log.body(ProtocolJson.write(head), rebased, this::fullFrame);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        long t0 = System.nanoTime();
        String path = "/v1/sessions/" + created.sessionId() + "/replay";
        Request req = new Request.Builder().url(url(options, path)).header("Authorization", "Bearer " + options.token())
                .post(RequestBody.create(body, BINARY)).build();
        String text;
        int status;
        try (Response resp = http.newCall(req).execute()) {
            text = resp.body().string();
            status = resp.code();
        } catch (javax.net.ssl.SSLException e) {
            throw new EdgeException("tls", tlsAdvice(options, e.toString()), e);
        } catch (IOException e) {
            throw new LinkLost("replay to " + options.server() + " failed: " + e.getMessage());
        }
        if (status == 502 || status == 503 || status == 504) {
            http.connectionPool().evictAll(); // the retry opens a fresh connection: a balancer may route it elsewhere
            throw new LinkLost("replay to " + options.server() + ": HTTP " + status + " " + errorText(text));
        }
        if (status != 200) {
            throw new EdgeException(errorCode(text, status), "replay of session " + created.sessionId() + " at step " + step
                    + " refused by " + options.server() + " (HTTP " + status + "): " + errorText(text));
        }
        SessionReplayed r;
        try {
            r = ProtocolJson.sessionReplayed(ProtocolJson.parse(text));
        } catch (IOException e) {
            throw new EdgeException("protocol", "unreadable replay answer: " + text);
        }
        if (!created.sessionId().equals(r.sessionId()) || r.step() != step || r.epoch() <= epoch) {
            throw new EdgeException("protocol", "replay answered session " + r.sessionId() + " step " + r.step() + " epoch "
                    + r.epoch() + "; expected " + created.sessionId() + " step " + step + " epoch > " + epoch);
        }
        long t1 = System.nanoTime();
        epoch = r.epoch();
        compactAccepted = r.maxFrameVersion() >= FrameCodec.COMPACT_VERSION;
        replayedToken = r.token();
        replayedAccepted = r.accepted();
        return new Failover(step, r.epoch(), r.frames(), r.positions(), body.length, (t1 - t0) / 1e6, r.cloudMs(),
                (t1 - lostAt) / 1e6);
    }

    /** {@code frame} as a full (version 1 or 2) frame: a compact one rewritten, any other as it is. */
    private byte[] fullFrame(byte[] frame) {
        try {
            return FrameCodec.toFull(frame, new FrameCodec.SessionContext(created.frameSession(), created.dim(),
                    CodecSpec.parse(created.codec())));
        } catch (FrameException e) {
            throw new IllegalStateException("the edge's own frame did not parse: " + e.getMessage(), e);
        }
    }

    private static String errorCode(String text, int status) {
        try {
            ErrorMessage err = ProtocolJson.error(ProtocolJson.parse(text));
            if (err.code() != null) return err.code();
        } catch (IOException | RuntimeException ignored) {
            // not our JSON error body
        }
        return "http_" + status;
    }

    private static String errorText(String text) {
        try {
            ErrorMessage err = ProtocolJson.error(ProtocolJson.parse(text));
            if (err.message() != null) return err.message();
        } catch (IOException | RuntimeException ignored) {
            // not our JSON error body: show it, shortened
        }
        String t = text.replaceAll("\\s+", " ").trim();
        return t.length() > 200 ? t.substring(0, 200) + "..." : t;
    }

    /** Longest wait for the DELETE on close: a hung server must not hold up an exiting edge. */
    static final long DELETE_TIMEOUT_MS = 5_000;

    /** Closes the stream and deletes the cloud session ({@code DELETE /v1/sessions/{id}}, at most 5 s). */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        StreamConnection c = connection;
        connection = null;
        if (c != null) {
            c.close();
        }
        if (!detached) delete();
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    /** {@code DELETE /v1/sessions/{id}}, best effort: a 404 (already expired) or an unreachable server is fine. */
    private void delete() {
        Request req = new Request.Builder().url(url(options, "/v1/sessions/" + created.sessionId()))
                .header("Authorization", "Bearer " + options.token()).delete().build();
        OkHttpClient quick = http.newBuilder().callTimeout(DELETE_TIMEOUT_MS, TimeUnit.MILLISECONDS).build();
        try (Response ignored = quick.newCall(req).execute()) {
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

    /**
     * {@code PUT path} with the session request, retried like a reconnect (same count, backoff and
     * total deadline) while the server cannot be reached or a proxy or draining replica answers
     * 502/503/504; then a clear error that names the endpoint. Any other refusal fails at once.
     */
    private static JsonNode create(OkHttpClient http, EdgeOptions options, String path, byte[] body) {
        long deadline = System.nanoTime() + options.totalTimeout().toNanos();
        String where = url(options, path);
        EdgeException last = null;
        int attempts = 0;
        while (attempts <= options.maxReconnects() && System.nanoTime() < deadline) {
            if (attempts > 0) {
                try {
                    Thread.sleep(Math.min(2000, 50L << Math.min(attempts, 5)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new EdgeException("interrupted", "interrupted while creating a session at " + where);
                }
            }
            attempts++;
            try {
                return put(http, options, where, body);
            } catch (Retryable e) {
                last = e.failure;
            }
        }
        throw new EdgeException(last == null ? "timeout" : last.code(), "could not create a session at " + where + " after "
                + attempts + " attempts: " + (last == null ? "no attempt within the total deadline" : last.getMessage()),
                last);
    }

    /** A creation failure worth another attempt. */
    private static final class Retryable extends RuntimeException {
        final EdgeException failure;

        Retryable(EdgeException failure) {
            super(failure.getMessage(), null, false, false);
            this.failure = failure;
        }
    }

    private static JsonNode put(OkHttpClient http, EdgeOptions options, String where, byte[] body) {
        try {
            Request req = new Request.Builder().url(where)
                    .header("Authorization", "Bearer " + options.token())
                    .put(RequestBody.create(body, JSON)).build();
            try (Response resp = http.newCall(req).execute()) {
                String text = resp.body().string();
                if (!resp.isSuccessful()) {
                    String code = errorCode(text, resp.code());
                    EdgeException e = new EdgeException(code, "server refused PUT " + where + " (HTTP " + resp.code() + "): "
                            + errorText(text));
                    boolean proxyOrDraining = resp.code() == 502 || resp.code() == 504
                            || (resp.code() == 503 && !"limit".equals(code)); // a quota is not cured by retrying at once
                    if (proxyOrDraining) {
                        http.connectionPool().evictAll(); // the retry opens a fresh connection: a balancer may route it elsewhere
                        throw new Retryable(e);
                    }
                    throw e;
                }
                return ProtocolJson.parse(text);
            }
        } catch (javax.net.ssl.SSLException e) {
            throw new EdgeException("tls", tlsAdvice(options, e.toString()), e);
        } catch (java.io.InterruptedIOException e) {
            throw new Retryable(new EdgeException("timeout", "no answer from " + where + ": " + e.getMessage(), e));
        } catch (IOException e) {
            throw new Retryable(new EdgeException("link", "cannot reach " + where + ": " + e.getMessage(), e));
        }
    }

    /** What a TLS failure means and what to do about it. */
    private static String tlsAdvice(EdgeOptions options, String detail) {
        String trusted = options.trust() == null ? "the system trust store" : "the CA certificates of " + options.trust().source();
        return "TLS handshake with " + options.server() + " failed: the server's certificate is not trusted by " + trusted
                + " or does not name this host (" + detail + "); pass --ca-cert FILE with the CA that signed it";
    }

    private static String url(EdgeOptions options, String path) {
        String base = options.server().toString();
        return (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path;
    }
}
