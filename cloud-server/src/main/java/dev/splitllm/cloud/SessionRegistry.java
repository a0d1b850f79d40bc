package dev.splitllm.cloud;

import dev.splitllm.engine.forward.Backend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.protocol.SessionRequest;
import dev.splitllm.quantization.weights.WeightFormat;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The open sessions: creation under the session-count and KV-memory caps, lookup bound to the
 * owning token, close, and idle expiry. KV memory is reserved in full at creation (the
 * segment's cache is allocated for maxSeqLen positions), so an admitted session can never run
 * the server out of memory later.
 */
final class SessionRegistry {
    private final ServerConfig config;
    private final ModelHost host;
    private final Map<String, CloudSession> sessions = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();
    private long reservedKv;
    /** Sessions admitted (counted under the lock, so concurrent creates cannot overshoot the cap). */
    private int admitted;

    SessionRegistry(ServerConfig config, ModelHost host) {
        this.config = config;
        this.host = host;
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
        int layers = host.config().nLayers();
        if (req.splitLayer() < 0 || req.splitLayer() > layers) {
            throw ApiException.badRequest("splitLayer must be in [0, " + layers + "], got " + req.splitLayer()
                    + " (0 = all blocks on the cloud)");
        }
        if (req.splitLayer() == layers) {
            throw ApiException.badRequest("splitLayer " + layers + " leaves no blocks on the cloud; run the model on the edge alone");
        }
        int modelMax = Math.min(host.config().seqLen(), config.maxSeqLen());
        if (req.maxSeqLen() < 1 || req.maxSeqLen() > modelMax) {
            throw ApiException.badRequest("maxSeqLen must be in [1, " + modelMax + "], got " + req.maxSeqLen());
        }
        CodecSpec codec;
        WeightFormat format;
        Sampler sampler;
        try {
            codec = CodecSpec.parse(req.codec() == null ? "fp32" : req.codec());
            format = req.cloudWeights() == null ? host.nativeFormat() : WeightFormat.parse(req.cloudWeights());
            sampler = new Sampler(req.temperature(), req.topP(), req.seed());
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
        long kv = MemoryAccount.kvCacheBytes(host.config(), layers - req.splitLayer(), req.maxSeqLen());
        synchronized (this) {
            if (admitted >= config.maxSessions()) {
                throw new ApiException(503, "limit", "session limit reached (" + config.maxSessions() + " open); retry later");
            }
            reserveKv(kv, "this session");
            admitted++;
        }
        try {
            Backend backend = host.backend(format);
            Segment segment = backend.open(req.splitLayer(), layers, req.maxSeqLen());
            byte[] idBytes = new byte[16];
            random.nextBytes(idBytes);
            String id = HexFormat.of().formatHex(idBytes);
            CloudSession s = new CloudSession(id, random.nextLong(), ownerDigest, req.splitLayer(), codec, format.id(),
                    req.maxSeqLen(), kv, segment, sampler);
            sessions.put(id, s);
            return s;
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                admitted--;
            }
            releaseKv(kv);
            throw e;
        }
    }

    /**
     * Reserves KV-cache bytes against the server's budget (sessions and plain completions share
     * it); throws 503 when they do not fit. Callers must {@link #releaseKv} them.
     */
    synchronized void reserveKv(long bytes, String forWhat) {
        if (reservedKv + bytes > config.maxKvBytes()) {
            throw new ApiException(503, "limit", "KV memory limit reached: " + forWhat + " needs " + bytes + " bytes, "
                    + (config.maxKvBytes() - reservedKv) + " of " + config.maxKvBytes() + " are free");
        }
        reservedKv += bytes;
    }

    synchronized void releaseKv(long bytes) {
        reservedKv -= bytes;
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
            synchronized (this) {
                admitted--;
            }
            releaseKv(s.reservedKvBytes);
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
                synchronized (this) {
                    admitted--;
                }
                releaseKv(s.reservedKvBytes);
                onExpire.accept(s);
                n++;
            }
        }
        return n;
    }

    void closeAll() {
        for (CloudSession s : new ArrayList<>(sessions.values())) close(s);
    }

}
