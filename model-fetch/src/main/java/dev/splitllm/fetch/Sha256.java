package dev.splitllm.fetch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.LongConsumer;

/** SHA-256 of files and byte arrays, as lower-case hex. */
public final class Sha256 {
    private Sha256() {}

    /** A fresh SHA-256 digest (every Java runtime has one). */
    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this Java runtime has no SHA-256", e);
        }
    }

    public static String of(byte[] data) {
        return HexFormat.of().formatHex(newDigest().digest(data));
    }

    /** Hashes a file, reporting the running byte count to {@code progress} (may be null). */
    public static String of(Path file, LongConsumer progress) throws IOException {
        MessageDigest md = newDigest();
        byte[] buf = new byte[1 << 16];
        long done = 0;
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
                done += n;
                if (progress != null) {
                    progress.accept(done);
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
