package dev.splitllm.cloud;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Operator settings of a cloud server.
 *
 * @param host                address to bind, e.g. "127.0.0.1"
 * @param port                port, 0 for a random free one
 * @param tokens              accepted bearer tokens (never empty)
 * @param maxSessions         concurrent sessions allowed
 * @param maxKvBytes          total KV-cache bytes all sessions may reserve
 * @param idleTimeout         a session with no accepted frame for this long is closed
 * @param maxFrameBytes       largest uplink frame (and WebSocket message) accepted
 * @param maxSeqLen           largest per-session sequence length granted (also bounded by the model)
 * @param maxSessionsPerToken concurrent sessions one token may hold
 * @param maxKvBytesPerToken  KV-cache bytes one token's sessions and completions may reserve
 * @param metricsToken        bearer token that {@code GET /metrics} requires; null: metrics are public
 * @param tls                 certificate and key to serve HTTPS/WSS with; null: plain HTTP (loopback only)
 */
public record ServerConfig(String host, int port, Set<String> tokens, int maxSessions, long maxKvBytes,
                           Duration idleTimeout, int maxFrameBytes, int maxSeqLen, int maxSessionsPerToken,
                           long maxKvBytesPerToken, String metricsToken, TlsFiles tls) {

    /** PEM files of the server certificate chain and its private key. */
    public record TlsFiles(Path certificate, Path privateKey) {
        public TlsFiles {
            if (certificate == null || privateKey == null) {
                throw new IllegalArgumentException("TLS needs both --tls-cert and --tls-key");
            }
        }
    }

    public ServerConfig {
        if (tokens == null || tokens.isEmpty() || tokens.stream().anyMatch(t -> t == null || t.isBlank())) {
            throw new IllegalArgumentException("at least one non-empty bearer token is required (SPLITLLM_TOKENS or --token-file)");
        }
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
        if (maxSessions < 1) throw new IllegalArgumentException("max sessions must be >= 1, got " + maxSessions);
        if (maxKvBytes < 1) throw new IllegalArgumentException("max KV bytes must be >= 1, got " + maxKvBytes);
        if (idleTimeout.isNegative() || idleTimeout.isZero()) throw new IllegalArgumentException("idle timeout must be positive");
        if (maxFrameBytes < 1024) throw new IllegalArgumentException("max frame bytes must be >= 1024, got " + maxFrameBytes);
        if (maxSeqLen < 1) throw new IllegalArgumentException("max sequence length must be >= 1, got " + maxSeqLen);
        if (maxSessionsPerToken < 1) throw new IllegalArgumentException("max sessions per token must be >= 1, got " + maxSessionsPerToken);
        if (maxKvBytesPerToken < 1) throw new IllegalArgumentException("max KV bytes per token must be >= 1, got " + maxKvBytesPerToken);
        if (metricsToken != null && metricsToken.isBlank()) throw new IllegalArgumentException("the metrics token must not be blank");
        tokens = Set.copyOf(tokens);
    }

    /** The settings before the per-token quotas, metrics token and TLS: those take their defaults. */
    public ServerConfig(String host, int port, Set<String> tokens, int maxSessions, long maxKvBytes, Duration idleTimeout,
                        int maxFrameBytes, int maxSeqLen) {
        this(host, port, tokens, maxSessions, maxKvBytes, idleTimeout, maxFrameBytes, maxSeqLen,
                defaultPerToken(tokens, maxSessions), defaultPerToken(tokens, maxKvBytes), null, null);
    }

    /**
     * A per-token share that leaves room for the other tokens: half the total (rounded up) when
     * several tokens are accepted, all of it when there is only one.
     */
    public static int defaultPerToken(Set<String> tokens, int total) {
        return tokens != null && tokens.size() > 1 ? Math.max(1, (total + 1) / 2) : total;
    }

    public static long defaultPerToken(Set<String> tokens, long total) {
        return tokens != null && tokens.size() > 1 ? Math.max(1, (total + 1) / 2) : total;
    }

    /** Defaults for a loopback server with the given tokens. */
    public static ServerConfig defaults(Set<String> tokens) {
        return new ServerConfig("127.0.0.1", 0, tokens, 64, 512L << 20, Duration.ofMinutes(5), 16 << 20, 4096);
    }

    public ServerConfig withPort(String newHost, int newPort) {
        return new ServerConfig(newHost, newPort, tokens, maxSessions, maxKvBytes, idleTimeout, maxFrameBytes, maxSeqLen,
                maxSessionsPerToken, maxKvBytesPerToken, metricsToken, tls);
    }

    /** New totals; the per-token quotas go back to their defaults for those totals. */
    public ServerConfig withLimits(int sessions, long kvBytes, Duration idle) {
        return new ServerConfig(host, port, tokens, sessions, kvBytes, idle, maxFrameBytes, maxSeqLen,
                defaultPerToken(tokens, sessions), defaultPerToken(tokens, kvBytes), metricsToken, tls);
    }

    public ServerConfig withQuotas(int sessionsPerToken, long kvBytesPerToken) {
        return new ServerConfig(host, port, tokens, maxSessions, maxKvBytes, idleTimeout, maxFrameBytes, maxSeqLen,
                sessionsPerToken, kvBytesPerToken, metricsToken, tls);
    }

    public ServerConfig withMaxFrameBytes(int bytes) {
        return new ServerConfig(host, port, tokens, maxSessions, maxKvBytes, idleTimeout, bytes, maxSeqLen,
                maxSessionsPerToken, maxKvBytesPerToken, metricsToken, tls);
    }

    public ServerConfig withMetricsToken(String token) {
        return new ServerConfig(host, port, tokens, maxSessions, maxKvBytes, idleTimeout, maxFrameBytes, maxSeqLen,
                maxSessionsPerToken, maxKvBytesPerToken, token, tls);
    }

    public ServerConfig withTls(TlsFiles files) {
        return new ServerConfig(host, port, tokens, maxSessions, maxKvBytes, idleTimeout, maxFrameBytes, maxSeqLen,
                maxSessionsPerToken, maxKvBytesPerToken, metricsToken, files);
    }

    /** Tokens from a comma-separated list such as the SPLITLLM_TOKENS environment variable. */
    public static Set<String> parseTokens(String commaSeparated) {
        Set<String> out = new LinkedHashSet<>();
        if (commaSeparated != null) {
            Arrays.stream(commaSeparated.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(out::add);
        }
        return out;
    }

    /**
     * Tokens from a file: one per line (commas also separate), blank lines and lines starting with
     * {@code #} ignored. Bounded: a token file larger than 1 MiB is refused.
     */
    public static Set<String> readTokenFile(Path file) throws IOException {
        if (Files.size(file) > (1 << 20)) {
            throw new IOException(file + " is larger than 1 MiB; a token file holds one token per line");
        }
        Set<String> out = new LinkedHashSet<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String t = line.trim();
            if (!t.isEmpty() && !t.startsWith("#")) out.addAll(parseTokens(t));
        }
        return out;
    }
}
