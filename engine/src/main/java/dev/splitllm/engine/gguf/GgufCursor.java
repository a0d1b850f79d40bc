package dev.splitllm.engine.gguf;

import dev.splitllm.engine.ModelFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A bounds-checked little-endian reader over a GGUF header. Every length and count is checked
 * against the bytes that remain before anything is allocated, so a garbled header fails with
 * a message naming the field and offset instead of an OutOfMemoryError or a hang.
 */
final class GgufCursor {
    /** Longest metadata string accepted (chat templates run to tens of KiB). */
    static final long MAX_STRING = 16L << 20;
    /** Longest key or tensor name accepted. */
    static final long MAX_NAME = 1 << 16;
    /**
     * Most elements in one metadata array (Llama 3's merges are ~280k, the largest vocabularies
     * ~260k): bounds the heap a header can claim (16M longs = 128 MiB) whatever the file size.
     */
    static final long MAX_ARRAY = 1L << 24;
    /** Deepest array nesting accepted. */
    static final int MAX_DEPTH = 3;

    private final ByteBuffer buf;
    private final String file;

    GgufCursor(ByteBuffer buf, String file) {
        this.buf = buf.order(ByteOrder.LITTLE_ENDIAN);
        this.file = file;
    }

    int position() {
        return buf.position();
    }

    long remaining() {
        return buf.remaining();
    }

    ModelFormatException error(String what) {
        return new ModelFormatException(file + ": " + what + " (at byte " + buf.position() + ")");
    }

    private void need(long n, String what) throws ModelFormatException {
        if (n > buf.remaining()) {
            throw error("truncated: " + what + " needs " + n + " bytes, " + buf.remaining() + " left");
        }
    }

    int u8(String what) throws ModelFormatException {
        need(1, what);
        return buf.get() & 0xff;
    }

    long u32(String what) throws ModelFormatException {
        need(4, what);
        return buf.getInt() & 0xffffffffL;
    }

    long i64(String what) throws ModelFormatException {
        need(8, what);
        return buf.getLong();
    }

    /** A uint64 count that must lie in [0, max] and leave room for count * minElementBytes. */
    long count(String what, long max, long minElementBytes) throws ModelFormatException {
        long n = i64(what);
        if (n < 0 || n > max) {
            throw error(what + " " + Long.toUnsignedString(n) + " is out of range (at most " + max + ")");
        }
        if (minElementBytes > 0 && n > buf.remaining() / minElementBytes) {
            throw error("truncated: " + what + " " + n + " needs at least " + n * minElementBytes + " bytes, "
                    + buf.remaining() + " left");
        }
        return n;
    }

    String string(String what, long max) throws ModelFormatException {
        long len = count(what + " length", max, 1);
        if (len == 0) {
            return "";
        }
        byte[] b = new byte[(int) len];
        buf.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    /** One value of {@code type}; arrays nest at most {@link #MAX_DEPTH} deep. */
    GgufValue value(GgufValueType type, String key, int depth) throws ModelFormatException {
        switch (type) {
            case UINT8: return scalar(type, (long) u8(key));
            case INT8: need(1, key); return scalar(type, (long) buf.get());
            case UINT16: need(2, key); return scalar(type, (long) (buf.getShort() & 0xffff));
            case INT16: need(2, key); return scalar(type, (long) buf.getShort());
            case UINT32: return scalar(type, u32(key));
            case INT32: need(4, key); return scalar(type, (long) buf.getInt());
            case UINT64: case INT64: return scalar(type, i64(key));
            case FLOAT32: need(4, key); return new GgufValue(type, null, (double) buf.getFloat());
            case FLOAT64: need(8, key); return new GgufValue(type, null, buf.getDouble());
            case BOOL: return new GgufValue(type, null, bool(key));
            case STRING: return new GgufValue(type, null, string(key, MAX_STRING));
            case ARRAY: return array(key, depth);
            default: throw error(key + ": unhandled type " + type);
        }
    }

    private static GgufValue scalar(GgufValueType type, long v) {
        return new GgufValue(type, null, v);
    }

    private boolean bool(String key) throws ModelFormatException {
        int b = u8(key);
        if (b > 1) {
            throw error(key + ": boolean byte " + b + " is neither 0 nor 1");
        }
        return b == 1;
    }

    private GgufValue array(String key, int depth) throws ModelFormatException {
        if (depth >= MAX_DEPTH) {
            throw error(key + ": arrays nested more than " + MAX_DEPTH + " deep");
        }
        long typeId = u32(key + " array element type");
        GgufValueType et = GgufValueType.byId(typeId);
        if (et == null) {
            throw error(key + ": unknown array element type " + typeId);
        }
        int n = (int) count(key + " array count", MAX_ARRAY, et.minBytes);
        switch (et) {
            case FLOAT32: case FLOAT64: {
                double[] a = new double[n];
                for (int i = 0; i < n; i++) a[i] = et == GgufValueType.FLOAT32 ? buf.getFloat() : buf.getDouble();
                return new GgufValue(GgufValueType.ARRAY, et, a);
            }
            case BOOL: {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) a[i] = bool(key);
                return new GgufValue(GgufValueType.ARRAY, et, a);
            }
            case STRING: {
                String[] a = new String[n];
                for (int i = 0; i < n; i++) a[i] = string(key + "[" + i + "]", MAX_STRING);
                return new GgufValue(GgufValueType.ARRAY, et, a);
            }
            case ARRAY: {
                GgufValue[] a = new GgufValue[n];
                for (int i = 0; i < n; i++) a[i] = array(key + "[" + i + "]", depth + 1);
                return new GgufValue(GgufValueType.ARRAY, et, a);
            }
            default: {
                long[] a = new long[n];
                for (int i = 0; i < n; i++) a[i] = (Long) value(et, key, depth).value();
                return new GgufValue(GgufValueType.ARRAY, et, a);
            }
        }
    }
}
