package dev.splitllm.quantization.wire;

/**
 * CRC-32C (Castagnoli, RFC 3720), the frame checksum. Uses {@code java.util.zip.CRC32C} (hardware
 * accelerated on the JVM) where the runtime has it, and a table-driven pure-Java version where it
 * does not: Android added that class only in API level 34.
 */
public final class Crc32c {
    private Crc32c() {}

    private static final int POLYNOMIAL = 0x82f63b78; // reflected Castagnoli polynomial
    private static final int[] TABLE = new int[256];
    private static final boolean JDK_AVAILABLE;

    static {
        for (int i = 0; i < 256; i++) {
            int c = i;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
            }
            TABLE[i] = c;
        }
        boolean available;
        try {
            Class.forName("java.util.zip.CRC32C");
            available = true;
        } catch (ClassNotFoundException | LinkageError e) {
            available = false;
        }
        JDK_AVAILABLE = available;
    }

    /** CRC-32C of {@code bytes[offset, offset + length)}. */
    public static int compute(byte[] bytes, int offset, int length) {
        return JDK_AVAILABLE ? Jdk.compute(bytes, offset, length) : computePortable(bytes, offset, length);
    }

    /** The pure-Java version, byte at a time. */
    static int computePortable(byte[] bytes, int offset, int length) {
        int crc = ~0;
        for (int i = offset; i < offset + length; i++) {
            crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]) & 0xff];
        }
        return ~crc;
    }

    /** Kept in its own class so runtimes without java.util.zip.CRC32C never load a reference to it. */
    private static final class Jdk {
        static int compute(byte[] bytes, int offset, int length) {
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(bytes, offset, length);
            return (int) crc.getValue();
        }
    }
}
