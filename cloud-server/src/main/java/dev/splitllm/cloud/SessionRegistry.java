package dev.splitllm.cloud;

import dev.splitllm.engine.forward.Backend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.protocol.SessionRequest;
import dev.splitllm.quantization.protocol.TokenMessage;
import dev.splitllm.quantization.weights.WeightFormat;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The open sessions: creation under the session-count and KV-memory caps (server-wide and per
 * token, so one token cannot take every slot), lookup bound to the owning token, close, and idle
 * expiry. KV memory is reserved in full at creation (the
 * segment's cache is allocated for maxSeqLen positions), so an admitted session can never run
 * the server out of memory later.
 */
final class SessionRegistry {
    private final ServerConfig config;
    private final ModelHost host;
    private final Map<String, CloudSession> sessions = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();
    private final ResumeTickets tickets;
    /** Set by a drain: no session is admitted or replayed here any more. */
    private volatile boolean draining;
    private long reservedKv;
    /** Sessions admitted (counted under the lock, so concurrent creates cannot overshoot the cap). */
    private int admitted;
    /** Per-token sessions and KV bytes, keyed by the token digest in hex; guarded by this. */
    private final Map<String, TokenUsage> usage = new HashMap<>();

    /** What one token holds now. */
    private static final class TokenUsage {
        int sessions;
        long kvBytes;
    }

    /** Seconds a refused client is told to wait: sessions end or expire, completions finish. */
    static final int RETRY_AFTER_SECONDS = 10;

    SessionRegistry(ServerConfig config, ModelHost host) {
        this.config = config;
        this.host = host;
        this.tickets = new ResumeTickets(config.tokens());
    }

    /** Stops admissions for good (a drain): creates and replays get 503 {@code draining}. */
    void startDraining() {
        draining = true;
    }

    boolean draining() {
        return draining;
    }

    /** The 503 a draining replica answers admissions with; a proxy passes the request to the next replica. */
    static ApiException drainingRefusal() {
        return new ApiException(503, "draining", "this replica is draining (shutting down); retry on another replica",
                Map.of("retryAfterSeconds", 1), 1);
    }

    /** Session ids are 128 random bits in lower-case hex: the only shape a path or a replay may name. */
    static boolean validId(String id) {
        return id != null && id.matches("[0-9a-f]{32}");
    }

    int active() {
        return sessions.size();
    }

    synchronized long reservedKvBytes() {
        return reservedKv;
    }

    /** The open sessions (a live view). */
    Collection<CloudSession> sessions() {
        return Collections.unmodifiableCollection(sessions.values());
    }

    CloudSession create(SessionRequest req, byte[] ownerDigest) {
        return create(req, ownerDigest, null);
    }

    /**
     * Creates a session under {@code id} (the client chose it, {@code PUT /v1/sessions/{id}}, so a
     * proxy can route by it from the first request) or under a fresh random id when null.
     */
    CloudSession create(SessionRequest req, byte[] ownerDigest, String id) {
        Admitted a = admit(req.splitLayer(), req.codec(), req.cloudWeights(), req.maxSeqLen(), req.temperature(),
                req.topP(), req.seed(), ownerDigest);
        try {
            String sid = id != null ? id : HexFormat.of().formatHex(randomBytes(16));
            long tag = random.nextLong();
            String ticket = tickets.issue(sid, tag, ownerDigest, req.splitLayer(), a.codec.toString(), a.format.id(),
                    req.maxSeqLen(), req.temperature(), req.topP(), req.seed());
            CloudSession s = new CloudSession(sid, tag, ownerDigest, req.splitLayer(), a.codec, a.format.id(),
                    req.maxSeqLen(), a.kv, a.segment, a.sampler, 0, ticket);
            s.ticketIssuer = split -> tickets.issue(sid, tag, ownerDigest, split, a.codec.toString(), a.format.id(),
                    req.maxSeqLen(), req.temperature(), req.topP(), req.seed());
            if (sessions.putIfAbsent(sid, s) != null) {
                throw new ApiException(409, "conflict", "session id " + sid + " is already in use; choose another");
            }
            return s;
        } catch (RuntimeException | Error e) {
            a.undo(this, ownerDigest);
            throw e;
        }
    }

    /**
     * Re-creates a session another replica held, from the edge's log (see
     * {@link CloudSession#replay}). Refused with no state left behind when the ticket does not
     * match the caller's token and the parameters, when the frames do not chain, or when they
     * exceed the session's max length. A repeat of a replay that already succeeded here (same
     * epoch, same last step) gets the same answer; a stale copy of the session (older epoch) is
     * replaced.
     */
    Replayed replay(String id, dev.splitllm.quantization.protocol.ReplayRequest head, byte[] ownerDigest,
                    List<byte[]> frames, dev.splitllm.quantization.wire.FrameLimits limits) {
        return replay(id, head, ownerDigest, frames, limits, null);
    }

    /** As above; with a scheduler the replayed positions run as prefill chunks in its batched ticks (#17). */
    Replayed replay(String id, dev.splitllm.quantization.protocol.ReplayRequest head, byte[] ownerDigest,
                    List<byte[]> frames, dev.splitllm.quantization.wire.FrameLimits limits, StepScheduler scheduler) {
        if (draining) throw drainingRefusal();
        if (!validId(id)) throw ApiException.badRequest("session ids are 32 lower-case hex digits, got " + id);
        String canonicalCodec, weights;
        try {
            canonicalCodec = CodecSpec.parse(head.codec() == null ? "fp32" : head.codec()).toString();
            weights = head.cloudWeights() == null ? host.nativeFormat().id() : WeightFormat.parse(head.cloudWeights()).id();
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
        String expected = tickets.issue(id, head.frameSession(), ownerDigest, head.splitLayer(), canonicalCodec, weights,
                head.maxSeqLen(), head.temperature(), head.topP(), head.seed());
        if (!ResumeTickets.same(expected, head.resumeTicket())) {
            // Another token's session, or parameters changed since creation: the same answer as an unknown id.
            throw ApiException.notFound("no such session: " + id + " (the resume ticket does not match this session"
                    + " for this token; a replay must carry the ticket and the parameters of its creation)");
        }
        if (head.epoch() < 0) throw ApiException.badRequest("epoch must be >= 0, got " + head.epoch());
        if (head.frames() != frames.size()) {
            throw ApiException.badRequest("replay head announces " + head.frames() + " frames, the body holds " + frames.size());
        }
        CloudSession existing = sessions.get(id);
        if (existing != null) {
            if (!existing.ownedBy(ownerDigest)) throw ApiException.notFound("no such session: " + id);
            TokenMessage last = existing.lastAnswer();
            if (existing.epoch == head.epoch() + 1 && last != null && last.step() == frames.size() - 1) {
                return new Replayed(existing, last, true); // the answer to this replay was lost: same again
            }
            if (existing.epoch > head.epoch()) {
                throw new ApiException(409, "stale_epoch", "session " + id + " is at epoch " + existing.epoch
                        + " here, newer than this replay's " + (head.epoch() + 1));
            }
            close(existing); // a stale copy (the edge moved on since): replaced by the replay
        }
        Admitted a = admit(head.splitLayer(), canonicalCodec, weights, head.maxSeqLen(), head.temperature(), head.topP(),
                head.seed(), ownerDigest);
        try {
            CloudSession s = new CloudSession(id, head.frameSession(), ownerDigest, head.splitLayer(), a.codec, a.format.id(),
                    head.maxSeqLen(), a.kv, a.segment, a.sampler, head.epoch() + 1, expected);
            s.ticketIssuer = split -> tickets.issue(id, head.frameSession(), ownerDigest, split, canonicalCodec, weights,
                    head.maxSeqLen(), head.temperature(), head.topP(), head.seed());
            TokenMessage answer;
            try {
                answer = s.replay(frames, limits, scheduler);
            } catch (CloudSession.ReplayRefused e) {
                throw new ApiException(400, "bad_replay", "replay of session " + id + " refused: " + e.getMessage());
            }
            if (sessions.putIfAbsent(id, s) != null) {
                throw new ApiException(409, "conflict", "session " + id + " was re-created here meanwhile; retry the replay");
            }
            return new Replayed(s, answer, false);
        } catch (RuntimeException | Error e) {
            a.undo(this, ownerDigest);
            throw e;
        }
    }

    /**
     * Moves {@code s}'s cut ({@link CloudSession#move}) on the backend of its weights, reserving the
     * KV of the layers it takes over against the server's budget and the token's quota first, and
     * releasing what it gives up.
     */
    CloudSession.Moved move(CloudSession s, dev.splitllm.quantization.protocol.MoveRequest req, byte[] kvUp, int maxKvFrameBytes) {
        Backend backend = host.backend(WeightFormat.parse(s.cloudWeights));
        return s.move(req, kvUp, backend, maxKvFrameBytes, reserver(s, "moving session " + s.id + "'s cut to split " + req.toSplit()));
    }

    /** Hands {@code s} off to the cloud ({@link CloudSession#handOff}), reserving the KV it takes over as a move does. */
    dev.splitllm.quantization.protocol.HandedOff handOff(CloudSession s, dev.splitllm.quantization.protocol.HandOffRequest req,
                                                         byte[] kvUp, int maxKvFrameBytes) {
        Backend backend = host.backend(WeightFormat.parse(s.cloudWeights));
        return s.handOff(req, kvUp, backend, maxKvFrameBytes, reserver(s, "handing session " + s.id + " off to the cloud"),
                host.tokenizer().eos(), host.tokenizer().bos());
    }

    /** A new edge takes {@code s} back ({@link CloudSession#restore}); the mirror stays, with its reservation. */
    CloudSession.Restored restore(CloudSession s) {
        return s.restore();
    }

    /** Takes one mirror frame of {@code s} ({@link CloudSession#mirror}); null when taken, else the refusal. */
    dev.splitllm.quantization.protocol.ErrorMessage mirror(CloudSession s, byte[] frame, int maxKvFrameBytes, long socketRestores) {
        return s.mirror(frame, maxKvFrameBytes, reserver(s, "mirroring session " + s.id + "'s edge KV"), socketRestores);
    }

    /** Reserves positive amounts against the budget and the owner's quota (may refuse); releases negative ones. */
    private java.util.function.LongConsumer reserver(CloudSession s, String forWhat) {
        return bytes -> {
            if (bytes > 0) {
                reserveKv(bytes, forWhat, s.ownerDigest());
            } else {
                releaseKv(-bytes, s.ownerDigest());
            }
        };
    }

    /** A replayed session, its answer to the last replayed step, and whether it was a repeat. */
    record Replayed(CloudSession session, TokenMessage answer, boolean repeat) {
    }

    /** What admission reserved: undone in full when the session does not come to be. */
    private static final class Admitted {
        CodecSpec codec;
        WeightFormat format;
        Sampler sampler;
        long kv;
        Segment segment;

        void undo(SessionRegistry r, byte[] ownerDigest) {
            if (segment != null) segment.close();
            synchronized (r) {
                r.admitted--;
                r.usage(ownerDigest).sessions--;
            }
            r.releaseKv(kv, ownerDigest);
        }
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    /** Validates the parameters, counts the session against the caps and reserves its KV, opens its segment. */
    private Admitted admit(int splitLayer, String codecSpec, String cloudWeights, int maxSeqLen, float temperature,
                           float topP, long seed, byte[] ownerDigest) {
        if (draining) throw drainingRefusal();
        int layers = host.config().nLayers();
        if (splitLayer < 0 || splitLayer > layers) {
            throw ApiException.badRequest("splitLayer must be in [0, " + layers + "], got " + splitLayer
                    + " (0 = all blocks on the cloud)");
        }
        if (splitLayer == layers) {
            throw ApiException.badRequest("splitLayer " + layers + " leaves no blocks on the cloud; run the model on the edge alone");
        }
        int modelMax = Math.min(host.config().seqLen(), config.maxSeqLen());
        if (maxSeqLen < 1 || maxSeqLen > modelMax) {
            throw ApiException.badRequest("maxSeqLen must be in [1, " + modelMax + "], got " + maxSeqLen);
        }
        CodecSpec codec;
        WeightFormat format;
        Sampler sampler;
        try {
            codec = CodecSpec.parse(codecSpec == null ? "fp32" : codecSpec);
            format = cloudWeights == null ? host.nativeFormat() : WeightFormat.parse(cloudWeights);
            sampler = new Sampler(temperature, topP, seed);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
        long kv = MemoryAccount.kvCacheBytes(host.config(), layers - splitLayer, maxSeqLen);
        synchronized (this) {
            if (admitted >= config.maxSessions()) {
                throw limit("session limit reached: " + admitted + " of " + config.maxSessions() + " sessions open; retry later",
                        "sessions", admitted, config.maxSessions(), 1);
            }
            TokenUsage mine = usage(ownerDigest);
            if (mine.sessions >= config.maxSessionsPerToken()) {
                throw limit("per-token session quota reached: this token holds " + mine.sessions + " of "
                        + config.maxSessionsPerToken() + " sessions; close one or retry later",
                        "tokenSessions", mine.sessions, config.maxSessionsPerToken(), 1);
            }
            reserveKv(kv, "this session", ownerDigest);
            admitted++;
            mine.sessions++;
        }
        Admitted a = new Admitted();
        a.codec = codec;
        a.format = format;
        a.sampler = sampler;
        a.kv = kv;
        try {
            Backend backend = host.backend(format);
            a.segment = backend.open(splitLayer, layers, maxSeqLen);
            return a;
        } catch (RuntimeException | Error e) {
            a.undo(this, ownerDigest);
            throw e;
        }
    }

    /**
     * Reserves KV-cache bytes against the server's budget and the token's quota (sessions and
     * plain completions share both); throws 503 when they do not fit. Callers must
     * {@link #releaseKv} them.
     */
    synchronized void reserveKv(long bytes, String forWhat, byte[] ownerDigest) {
        if (reservedKv + bytes > config.maxKvBytes()) {
            throw limit("KV memory limit reached: " + forWhat + " needs " + bytes + " bytes, "
                    + (config.maxKvBytes() - reservedKv) + " of " + config.maxKvBytes() + " are free",
                    "kvBytes", reservedKv, config.maxKvBytes(), bytes);
        }
        TokenUsage mine = usage(ownerDigest);
        if (mine.kvBytes + bytes > config.maxKvBytesPerToken()) {
            throw limit("per-token KV quota reached: " + forWhat + " needs " + bytes + " bytes, this token holds "
                    + mine.kvBytes + " of " + config.maxKvBytesPerToken(),
                    "tokenKvBytes", mine.kvBytes, config.maxKvBytesPerToken(), bytes);
        }
        reservedKv += bytes;
        mine.kvBytes += bytes;
    }

    synchronized void releaseKv(long bytes, byte[] ownerDigest) {
        reservedKv -= bytes;
        TokenUsage mine = usage(ownerDigest);
        mine.kvBytes -= bytes;
        dropIfIdle(ownerDigest, mine);
    }

    /** KV bytes the token's sessions and completions hold now (for tests and metrics). */
    synchronized long kvBytesOf(byte[] ownerDigest) {
        TokenUsage u = usage.get(HexFormat.of().formatHex(ownerDigest));
        return u == null ? 0 : u.kvBytes;
    }

    private TokenUsage usage(byte[] ownerDigest) {
        return usage.computeIfAbsent(HexFormat.of().formatHex(ownerDigest), k -> new TokenUsage());
    }

    private void dropIfIdle(byte[] ownerDigest, TokenUsage u) {
        if (u.sessions == 0 && u.kvBytes == 0) usage.remove(HexFormat.of().formatHex(ownerDigest));
    }

    private static ApiException limit(String message, String what, long used, long limit, long requested) {
        return new ApiException(503, "limit", message,
                Map.of("limit", what, "used", used, "max", limit, "requested", requested,
                        "retryAfterSeconds", RETRY_AFTER_SECONDS), RETRY_AFTER_SECONDS);
    }

    /** The session, if it exists and belongs to this token; 404 otherwise (never revealing which). */
    CloudSession get(String id, byte[] tokenDigest) {
        CloudSession s = id == null ? null : sessions.get(id);
        if (s == null || !s.ownedBy(tokenDigest)) {
            throw ApiException.notFound("no such session: " + id);
        }
        return s;
    }

    boolean close(CloudSession s) {
        if (sessions.remove(s.id, s)) {
            s.close();
            release(s);
            return true;
        }
        return false;
    }

    /** Closes sessions idle longer than the configured timeout; reports each to {@code onExpire}. */
    int expireIdle(Consumer<CloudSession> onExpire) {
        long limit = config.idleTimeout().toNanos();
        List<CloudSession> idle = new ArrayList<>();
        for (CloudSession s : sessions.values()) {
            if (s.idleNanos() > limit) idle.add(s);
        }
        int n = 0;
        for (CloudSession s : idle) {
            // Re-checked under the session's lock: a frame may have arrived since the scan.
            if (s.closeIfIdle(limit) && sessions.remove(s.id, s)) {
                release(s);
                onExpire.accept(s);
                n++;
            }
        }
        return n;
    }

    private synchronized void release(CloudSession s) {
        admitted--;
        usage(s.ownerDigest()).sessions--;
        releaseKv(s.reservedKvBytes, s.ownerDigest());
    }

    void closeAll() {
        for (CloudSession s : new ArrayList<>(sessions.values())) close(s);
    }

}
