package dev.splitllm.cloud;

import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Operator settings of a cloud server.
 *
 * @param host           address to bind, e.g. "127.0.0.1"
 * @param port           port, 0 for a random free one
 * @param tokens         accepted bearer tokens (never empty)
 * @param maxSessions    concurrent sessions allowed
 * @param maxKvBytes     total KV-cache bytes all sessions may reserve
 * @param idleTimeout    a session with no activity for this long is closed
 * @param maxFrameBytes  largest uplink frame accepted
 * @param maxSeqLen      largest per-session sequence length granted (also bounded by the model)
 */
public record ServerConfig(String host, int port, Set<String> tokens, int maxSessions, long maxKvBytes,
                           Duration idleTimeout, int maxFrameBytes, int maxSeqLen) {

    public ServerConfig {
        if (tokens == null || tokens.isEmpty() || tokens.stream().anyMatch(t -> t == null || t.isBlank())) {
            throw new IllegalArgumentException("at least one non-empty bearer token is required (--token or SPLITLLM_TOKENS)");
        }
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
        if (maxSessions < 1) throw new IllegalArgumentException("max sessions must be >= 1, got " + maxSessions);
        if (maxKvBytes < 1) throw new IllegalArgumentException("max KV bytes must be >= 1, got " + maxKvBytes);
        if (idleTimeout.isNegative() || idleTimeout.isZero()) throw new IllegalArgumentException("idle timeout must be positive");
        if (maxFrameBytes < 1024) throw new IllegalArgumentException("max frame bytes must be >= 1024, got " + maxFrameBytes);
        if (maxSeqLen < 1) throw new IllegalArgumentException("max sequence length must be >= 1, got " + maxSeqLen);
        tokens = Set.copyOf(tokens);
    }

    /** Defaults for a loopback server with the given tokens. */
    public static ServerConfig defaults(Set<String> tokens) {
        return new ServerConfig("127.0.0.1", 0, tokens, 64, 512L << 20, Duration.ofMinutes(5), 16 << 20, 4096);
    }

    public ServerConfig withPort(String newHost, int newPort) {
        return new ServerConfig(newHost, newPort, tokens, maxSessions, maxKvBytes, idleTimeout, maxFrameBytes, maxSeqLen);
    }

    public ServerConfig withLimits(int sessions, long kvBytes, Duration idle) {
        return new ServerConfig(host, port, tokens, sessions, kvBytes, idle, maxFrameBytes, maxSeqLen);
    }

    /** Tokens from a comma-separated list such as the SPLITLLM_TOKENS environment variable. */
    public static Set<String> parseTokens(String commaSeparated) {
        Set<String> out = new LinkedHashSet<>();
        if (commaSeparated != null) {
            Arrays.stream(commaSeparated.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(out::add);
        }
        return out;
    }
}
