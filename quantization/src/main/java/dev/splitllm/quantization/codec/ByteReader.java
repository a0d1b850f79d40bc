package dev.splitllm.quantization.codec;

/**
 * Little-endian reads from a byte range with a bounds check on every read, so untrusted bytes can
 * only ever produce a {@link CorruptPayloadException}.
 */
public final class ByteReader {
    private final byte[] bytes;
    private final int end;
    private int position;

    /** Reads {@code bytes[offset, offset + length)}. */
    public ByteReader(byte[] bytes, int offset, int length) {
        if (offset < 0 || length < 0 || offset > bytes.length - length) {
            throw new IllegalArgumentException("range " + offset + "+" + length + " outside " + bytes.length + " bytes");
        }
        this.bytes = bytes;
        this.position = offset;
        this.end = offset + length;
    }

    /** Absolute index of the next byte. */
    public int position() {
        return position;
    }

    /** Bytes left to read. */
    public int remaining() {
        return end - position;
    }

    /** The underlying array (for bulk decoders that check {@link #skip} first). */
    byte[] array() {
        return bytes;
    }

    /** Checks that {@code n} bytes remain, naming {@code what} otherwise. */
    public void require(long n, String what) throws CorruptPayloadException {
        if (n < 0 || n > end - position) {
            throw new CorruptPayloadException("truncated: " + what + " needs " + n + " bytes, " + (end - position) + " left");
        }
    }

    /** Advances over {@code n} bytes and returns where they start. */
    public int skip(int n, String what) throws CorruptPayloadException {
        require(n, what);
        int start = position;
        position += n;
        return start;
    }

    /** Unsigned byte. */
    public int u8(String what) throws CorruptPayloadException {
        require(1, what);
        return bytes[position++] & 0xff;
    }

    /** Unsigned 16-bit integer. */
    public int u16(String what) throws CorruptPayloadException {
        require(2, what);
        int v = (bytes[position] & 0xff) | (bytes[position + 1] & 0xff) << 8;
        position += 2;
        return v;
    }

    /** 32-bit integer (the caller decides whether it is unsigned). */
    public int i32(String what) throws CorruptPayloadException {
        require(4, what);
        int v = getInt(bytes, position);
        position += 4;
        return v;
    }

    /** Unsigned 32-bit integer as a long. */
    public long u32(String what) throws CorruptPayloadException {
        return i32(what) & 0xffffffffL;
    }

    /** 64-bit integer. */
    public long i64(String what) throws CorruptPayloadException {
        require(8, what);
        long lo = getInt(bytes, position) & 0xffffffffL;
        long hi = getInt(bytes, position + 4);
        position += 8;
        return lo | hi << 32;
    }

    /** 32-bit float. */
    public float f32(String what) throws CorruptPayloadException {
        return Float.intBitsToFloat(i32(what));
    }

    /** Little-endian int at {@code i}, no bounds check beyond the array's. */
    static int getInt(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24;
    }
}
