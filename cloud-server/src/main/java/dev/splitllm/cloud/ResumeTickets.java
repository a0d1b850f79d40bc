package dev.splitllm.cloud;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Set;
import java.util.TreeSet;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Resume tickets: an HMAC-SHA256 over a session's identity (id, frame tag, owner token digest,
 * split, codec, weights, max length, sampler parameters) that any replica of the same deployment
 * can check without shared state. The key is derived from the accepted tokens, which every replica
 * reads from the same Secret: a client holding one token cannot compute it (it does not know the
 * others), so it cannot claim another token's session id on a replica that never saw the session.
 */
final class ResumeTickets {
    private final byte[] key;

    ResumeTickets(Set<String> tokens) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update("splitllm resume ticket v1\n".getBytes(StandardCharsets.UTF_8));
            for (String t : new TreeSet<>(tokens)) { // sorted: replicas agree whatever order they read them in
                sha.update(t.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) '\n');
            }
            this.key = sha.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The ticket of a session: hex HMAC over everything a replay must not change. */
    String issue(String id, long frameTag, byte[] ownerDigest, int splitLayer, String codec, String cloudWeights,
                 int maxSeqLen, float temperature, float topP, long seed) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update((id + "\n" + codec + "\n" + cloudWeights + "\n").getBytes(StandardCharsets.UTF_8));
            mac.update(ownerDigest);
            mac.update(ByteBuffer.allocate(8 + 4 + 4 + 4 + 4 + 8).putLong(frameTag).putInt(splitLayer).putInt(maxSeqLen)
                    .putInt(Float.floatToIntBits(temperature)).putInt(Float.floatToIntBits(topP)).putLong(seed).array());
            return HexFormat.of().formatHex(mac.doFinal());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Constant-time check of a presented ticket. */
    static boolean same(String expected, String presented) {
        return presented != null && MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                presented.getBytes(StandardCharsets.UTF_8));
    }
}
