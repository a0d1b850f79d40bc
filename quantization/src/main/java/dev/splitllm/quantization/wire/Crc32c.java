package dev.splitllm.quantization.wire;

/**
 * CRC-32C (Castagnoli, RFC 3720), the frame checksum. Uses {@code java.util.zip.CRC32C} where
 * the runtime has it (every JDK since 9, where it is an intrinsic) and a table-driven plain-Java
 * implementation elsewhere: Android added that class only in API level 34, so older devices get
 * the fallback. Both give identical values.
 */
public final class Crc32c {
    private Crc32c() {}

    /** Reflected Castagnoli polynomial. */
    private static final int POLY = 0x82F63B78;
    private static final int[] TABLE = table();
    private static final boolean JDK = jdkAvailable();

    /** The CRC-32C of {@code len} bytes of {@code b} from {@code off}. */
    public static int of(byte[] b, int off, int len) {
        if (off < 0 || len < 0 || off > b.length - len) {
            throw new IndexOutOfBoundsException("range [" + off + ", " + off + "+" + len + ") outside " + b.length + " bytes");
        }
        return JDK ? JdkCrc.of(b, off, len) : plain(b, off, len);
    }

    /** Whether the JDK's {@code java.util.zip.CRC32C} is in use. */
    public static boolean usesJdk() {
        return JDK;
    }

    /** The plain-Java computation, whatever the runtime has (exposed for tests). */
    static int plain(byte[] b, int off, int len) {
        int crc = ~0;
        for (int i = off, end = off + len; i < end; i++) {
            crc = (crc >>> 8) ^ TABLE[(crc ^ b[i]) & 0xff];
        }
        return ~crc;
    }

    private static int[] table() {
        int[] t = new int[256];
        for (int i = 0; i < 256; i++) {
            int c = i;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ POLY : c >>> 1;
            }
            t[i] = c;
        }
        return t;
    }

    private static boolean jdkAvailable() {
        try {
            Class.forName("java.util.zip.CRC32C");
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Touches {@code java.util.zip.CRC32C} only when it exists, so other runtimes never resolve it. */
    private static final class JdkCrc {
        static int of(byte[] b, int off, int len) {
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(b, off, len);
            return (int) crc.getValue();
        }
    }
}
