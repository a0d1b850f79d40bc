package dev.splitllm.engine.gguf;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Little-endian GGUF primitives written to a stream, counting the bytes (for tensor alignment):
 * the one encoder of GGUF scalars, strings and metadata values, used by {@link GgufWriter} and by
 * writers that stream tensors too large to hold (the synthetic 1B model).
 */
public final class GgufSink {
    private final OutputStream os;
    private final ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    private long written;

    public GgufSink(OutputStream os) {
        this.os = os;
    }

    /** Bytes written so far (for alignment). */
    public long written() {
        return written;
    }

    public void bytes(byte[] b) throws IOException {
        os.write(b);
        written += b.length;
    }

    private void raw(int n) throws IOException {
        os.write(buf.array(), 0, n);
        written += n;
        buf.clear();
    }

    public void u8(int v) throws IOException { buf.put((byte) v); raw(1); }
    public void u16(int v) throws IOException { buf.putShort((short) v); raw(2); }
    public void u32(long v) throws IOException { buf.putInt((int) v); raw(4); }
    public void u64(long v) throws IOException { buf.putLong(v); raw(8); }
    public void f32(double v) throws IOException { buf.putFloat((float) v); raw(4); }
    public void f64(double v) throws IOException { buf.putDouble(v); raw(8); }

    public void string(String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(b.length);
        bytes(b);
    }

    public void pad(int alignment) throws IOException {
        while (written % alignment != 0) u8(0);
    }

    public void scalar(GgufValueType t, Object v) throws IOException {
        switch (t) {
            case UINT8: case INT8: u8((int) (long) (Long) v); break;
            case UINT16: case INT16: u16((int) (long) (Long) v); break;
            case UINT32: case INT32: u32((Long) v); break;
            case UINT64: case INT64: u64((Long) v); break;
            case FLOAT32: f32((Double) v); break;
            case FLOAT64: f64((Double) v); break;
            case BOOL: u8((Boolean) v ? 1 : 0); break;
            case STRING: string((String) v); break;
            default: throw new IllegalArgumentException("not a scalar type: " + t);
        }
    }

    public void value(GgufValue v) throws IOException {
        if (v.type() != GgufValueType.ARRAY) {
            scalar(v.type(), v.value());
            return;
        }
        GgufValueType et = v.elementType();
        u32(et.id);
        u64(v.length());
        Object a = v.value();
        if (a instanceof long[]) for (long x : (long[]) a) scalar(et, x);
        else if (a instanceof double[]) for (double x : (double[]) a) scalar(et, x);
        else if (a instanceof boolean[]) for (boolean x : (boolean[]) a) scalar(et, x);
        else if (a instanceof String[]) for (String x : (String[]) a) string(x);
        else for (GgufValue x : (GgufValue[]) a) value(x);
    }
}
