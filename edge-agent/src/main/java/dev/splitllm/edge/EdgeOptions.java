package dev.splitllm.edge;

import dev.splitllm.quantization.codec.CodecSpec;
import java.net.URI;
import java.time.Duration;

/**
 * How an edge session talks to its cloud.
 *
 * @param server        base URL of the cloud server, e.g. http://127.0.0.1:8080
 * @param token         bearer token
 * @param codec         activation codec for the uplink frames
 * @param cloudWeights  weight format the cloud should run its segment at (Q_w2), e.g. "f32"
 * @param maxSeqLen     positions (prompt + generated) to reserve on both sides
 * @param temperature   0 for greedy
 * @param topP          nucleus mass; 1 disables
 * @param seed          sampler seed (the cloud samples)
 * @param stepTimeout   step deadline: how long to wait for one token before treating the link as dead
 * @param maxReconnects reconnect attempts per step before giving up
 * @param totalTimeout  total deadline of one step (or one REST call), reconnects and backoff included:
 *                      the longest a hung or unreachable server can keep the edge waiting
 * @param trust         CAs trusted for https/wss; null: the system trust store
 */
public record EdgeOptions(URI server, String token, CodecSpec codec, String cloudWeights, int maxSeqLen,
                          float temperature, float topP, long seed, Duration stepTimeout, int maxReconnects,
                          Duration totalTimeout, EdgeTrust trust) {

    /** Default total deadline of a step: a dead server is given up on after this long. */
    public static final Duration DEFAULT_TOTAL_TIMEOUT = Duration.ofSeconds(60);

    /** Without a total deadline or trust: {@link #DEFAULT_TOTAL_TIMEOUT} and the system trust store. */
    public EdgeOptions(URI server, String token, CodecSpec codec, String cloudWeights, int maxSeqLen,
                       float temperature, float topP, long seed, Duration stepTimeout, int maxReconnects) {
        this(server, token, codec, cloudWeights, maxSeqLen, temperature, topP, seed, stepTimeout, maxReconnects,
                DEFAULT_TOTAL_TIMEOUT.compareTo(stepTimeout) >= 0 ? DEFAULT_TOTAL_TIMEOUT : stepTimeout, null);
    }

    public EdgeOptions {
        if (server == null || server.getScheme() == null || !(server.getScheme().equals("http") || server.getScheme().equals("https"))) {
            throw new IllegalArgumentException("server must be an http(s) URL, got " + server);
        }
        if (token == null || token.isBlank()) throw new IllegalArgumentException("a bearer token is required");
        if (maxSeqLen < 2) throw new IllegalArgumentException("maxSeqLen must be >= 2, got " + maxSeqLen);
        if (maxReconnects < 0) throw new IllegalArgumentException("maxReconnects must be >= 0");
        if (stepTimeout.isNegative() || stepTimeout.isZero()) throw new IllegalArgumentException("step timeout must be positive");
        if (totalTimeout == null || totalTimeout.compareTo(stepTimeout) < 0) {
            throw new IllegalArgumentException("total timeout (" + totalTimeout + ") must be at least the step timeout (" + stepTimeout + ")");
        }
    }

    /** Greedy, lossless fp32 codec, f32 cloud weights, 256 positions, 20 s step and 60 s total deadline, 5 reconnects. */
    public static EdgeOptions defaults(URI server, String token) {
        return new EdgeOptions(server, token, CodecSpec.parse("fp32"), "f32", 256, 0f, 1f, 42, Duration.ofSeconds(20), 5,
                DEFAULT_TOTAL_TIMEOUT, null);
    }

    /** The step and total deadlines. */
    public EdgeOptions withDeadlines(Duration step, Duration total) {
        return new EdgeOptions(server, token, codec, cloudWeights, maxSeqLen, temperature, topP, seed, step, maxReconnects, total, trust);
    }

    /** Trust only the CAs of {@code t} (null: the system trust store). */
    public EdgeOptions withTrust(EdgeTrust t) {
        return new EdgeOptions(server, token, codec, cloudWeights, maxSeqLen, temperature, topP, seed, stepTimeout, maxReconnects,
                totalTimeout, t);
    }

    public EdgeOptions withCodec(CodecSpec c) {
        return new EdgeOptions(server, token, c, cloudWeights, maxSeqLen, temperature, topP, seed, stepTimeout, maxReconnects, totalTimeout, trust);
    }

    public EdgeOptions withSampling(float temp, float p, long s) {
        return new EdgeOptions(server, token, codec, cloudWeights, maxSeqLen, temp, p, s, stepTimeout, maxReconnects, totalTimeout, trust);
    }

    public EdgeOptions withMaxSeqLen(int n) {
        return new EdgeOptions(server, token, codec, cloudWeights, n, temperature, topP, seed, stepTimeout, maxReconnects, totalTimeout, trust);
    }

    public EdgeOptions withCloudWeights(String w) {
        return new EdgeOptions(server, token, codec, w, maxSeqLen, temperature, topP, seed, stepTimeout, maxReconnects, totalTimeout, trust);
    }
}
