package dev.splitllm.cloud;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Bearer-token authentication. Tokens are kept only as SHA-256 digests and compared in
 * constant time; a session remembers the digest of the token that created it.
 */
final class Auth {
    private final List<byte[]> accepted = new ArrayList<>();
    /** Digest of the token {@code GET /metrics} needs, or null when metrics are public. */
    private final byte[] metricsDigest;

    Auth(Set<String> tokens, String metricsToken) {
        for (String t : tokens) accepted.add(digest(t));
        this.metricsDigest = metricsToken == null ? null : digest(metricsToken);
    }

    /** Checks the header against the metrics token, if one is configured; 401 otherwise. */
    void authenticateMetrics(String authorizationHeader) {
        if (metricsDigest == null) return;
        if (authorizationHeader == null || !authorizationHeader.regionMatches(true, 0, "Bearer ", 0, 7)
                || !MessageDigest.isEqual(metricsDigest, digest(authorizationHeader.substring(7).trim()))) {
            throw ApiException.unauthorized();
        }
    }

    /**
     * The digest of the token in an {@code Authorization: Bearer ...} header value, or throws
     * 401 when it is missing or not accepted.
     */
    byte[] authenticate(String authorizationHeader) {
        if (authorizationHeader == null || !authorizationHeader.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw ApiException.unauthorized();
        }
        byte[] d = digest(authorizationHeader.substring(7).trim());
        boolean ok = false;
        for (byte[] a : accepted) {
            ok |= MessageDigest.isEqual(a, d);
        }
        if (!ok) {
            throw ApiException.unauthorized();
        }
        return d;
    }

    static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
