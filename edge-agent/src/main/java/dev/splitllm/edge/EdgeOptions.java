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
 * @param stepTimeout   how long to wait for one token before treating the link as dead
 * @param maxReconnects reconnect attempts per step before giving up
 */
public record EdgeOptions(URI server, String token, CodecSpec codec, String cloudWeights, int maxSeqLen,
                          float temperature, float topP, long seed, Duration stepTimeout, int maxReconnects) {

    public EdgeOptions {
        if (server == null || server.getScheme() == null || !(server.getScheme().equals("http") || server.getScheme().equals("https"))) {
            throw new IllegalArgumentException("server must be an http(s) URL, got " + server);
        }
        if (token == null || token.isBlank()) throw new IllegalArgumentException("a bearer token is required");
        if (maxSeqLen < 2) throw new IllegalArgumentException("maxSeqLen must be >= 2, got " + maxSeqLen);
        if (maxReconnects < 0) throw new IllegalArgumentException("maxReconnects must be >= 0");
        if (stepTimeout.isNegative() || stepTimeout.isZero()) throw new IllegalArgumentException("step timeout must be positive");
    }

    /** Greedy, lossless fp32 codec, f32 cloud weights, 256 positions, 30 s step timeout, 5 reconnects. */
    public static EdgeOptions defaults(URI server, String token) {
        return new EdgeOptions(server, token, CodecSpec.parse("fp32"), "f32", 256, 0f, 1f, 42, Duration.ofSeconds(30), 5);
    }

    public EdgeOptions withCodec(CodecSpec c) {
        return new EdgeOptions(server, token, c, cloudWeights, maxSeqLen, temperature, topP, seed, stepTimeout, maxReconnects);
    }

    public EdgeOptions withSampling(float temp, float p, long s) {
        return new EdgeOptions(server, token, codec, cloudWeights, maxSeqLen, temp, p, s, stepTimeout, maxReconnects);
    }

    public EdgeOptions withMaxSeqLen(int n) {
        return new EdgeOptions(server, token, codec, cloudWeights, n, temperature, topP, seed, stepTimeout, maxReconnects);
    }

    public EdgeOptions withCloudWeights(String w) {
        return new EdgeOptions(server, token, codec, w, maxSeqLen, temperature, topP, seed, stepTimeout, maxReconnects);
    }
}
