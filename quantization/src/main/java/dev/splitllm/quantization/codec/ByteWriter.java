package dev.splitllm.quantization.codec;

import java.util.Arrays;

/** A growable little-endian byte buffer; reusable through {@link #reset()}. */
public final class ByteWriter {
    /** Largest buffer this writer will grow to (Java arrays stop just short of 2^31). */
    public static final int MAX_CAPACITY = Integer.MAX_VALUE - 16;

    private byte[] bytes;
    private int size;

    /** An empty writer with the given starting capacity. */
    public ByteWriter(int initialCapacity) {
        if (initialCapacity < 0 || initialCapacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("bad initial capacity " + initialCapacity);
        }
        bytes = new byte[Math.max(16, initialCapacity)];
    }

    /** Bytes written so far. */
    public int size() {
        return size;
    }

    /** Forgets what was written, keeping the buffer. */
    public void reset() {
        size = 0;
    }

    /** The backing array; valid up to {@link #size()} until the next write. */
    public byte[] array() {
        return bytes;
    }

    /** A copy of the written bytes. */
    public byte[] toByteArray() {
        return Arrays.copyOf(bytes, size);
    }

    /** Makes room for {@code n} more bytes and returns the index where they start; advances the size. */
    public int reserve(long n) {
        if (n < 0 || n > MAX_CAPACITY - size) {
            throw new IllegalArgumentException("output would exceed " + MAX_CAPACITY + " bytes");
        }
        int needed = size + (int) n;
        if (needed > bytes.length) {
            long grown = Math.max(needed, Math.min((long) MAX_CAPACITY, 2L * bytes.length));
            bytes = Arrays.copyOf(bytes, (int) grown);
        }
        int start = size;
        size = needed;
        return start;
    }

    /** Drops everything after the first {@code newSize} bytes (after a {@link #reserve} that took too much). */
    public void truncate(int newSize) {
        if (newSize < 0 || newSize > size) {
            throw new IllegalArgumentException("cannot truncate " + size + " bytes to " + newSize);
        }
        size = newSize;
    }

    /** One byte (low 8 bits). */
    public void u8(int v) {
        int i = reserve(1);
        bytes[i] = (byte) v;
    }

    /** Low 16 bits. */
    public void u16(int v) {
        int i = reserve(2);
        bytes[i] = (byte) v;
        bytes[i + 1] = (byte) (v >>> 8);
    }

    /** 32-bit integer. */
    public void i32(int v) {
        int i = reserve(4);
        putInt(bytes, i, v);
    }

    /** 64-bit integer. */
    public void i64(long v) {
        int i = reserve(8);
        putInt(bytes, i, (int) v);
        putInt(bytes, i + 4, (int) (v >>> 32));
    }

    /** 32-bit float, raw bits. */
    public void f32(float v) {
        i32(Float.floatToRawIntBits(v));
    }

    /** A byte range. */
    public void bytes(byte[] src, int offset, int length) {
        int i = reserve(length);
        System.arraycopy(src, offset, bytes, i, length);
    }

    /** Little-endian int at {@code i}. */
    static void putInt(byte[] b, int i, int v) {
        b[i] = (byte) v;
        b[i + 1] = (byte) (v >>> 8);
        b[i + 2] = (byte) (v >>> 16);
        b[i + 3] = (byte) (v >>> 24);
    }
}
