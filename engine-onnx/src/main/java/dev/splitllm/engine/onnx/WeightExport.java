package dev.splitllm.engine.onnx;

import dev.splitllm.engine.tensor.F32Matrix;
import dev.splitllm.engine.tensor.WeightMatrix;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Turns engine weights into little-endian float32 bytes for ONNX initializers. F32 matrices
 * are copied as they are; every other format (F16, BF16, Q8_0, Q4_0, ...) is dequantized row
 * by row with {@link WeightMatrix#readRow}, so the ONNX graph always computes in float32 and
 * holds four bytes per weight whatever the engine's storage.
 */
final class WeightExport {
    private WeightExport() {}

    /** rows x cols, row-major ([out x in], the engine's layout). */
    static byte[] matrix(WeightMatrix m) {
        long n = (long) m.rows() * m.cols();
        if (n * Float.BYTES > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("matrix " + m + " exceeds 2 GiB as float32; ONNX external data is not supported");
        }
        byte[] bytes = new byte[(int) (n * Float.BYTES)];
        FloatBuffer out = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        if (m instanceof F32Matrix f) {
            out.put(f.data(), f.offset(), (int) n);
        } else {
            float[] row = new float[m.cols()];
            for (int r = 0; r < m.rows(); r++) {
                m.readRow(r, row, 0);
                out.put(row);
            }
        }
        return bytes;
    }

    /** The matrices stacked by rows ([a; b; ...]); all must have the same column count. */
    static byte[] stacked(WeightMatrix... parts) {
        long n = 0;
        for (WeightMatrix m : parts) {
            if (m.cols() != parts[0].cols()) {
                throw new IllegalArgumentException("cannot stack " + m + " under " + parts[0] + ": column counts differ");
            }
            n += (long) m.rows() * m.cols();
        }
        if (n * Float.BYTES > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("stacked matrices exceed 2 GiB as float32; ONNX external data is not supported");
        }
        byte[] out = new byte[(int) (n * Float.BYTES)];
        int off = 0;
        for (WeightMatrix m : parts) {
            byte[] b = matrix(m);
            System.arraycopy(b, 0, out, off, b.length);
            off += b.length;
        }
        return out;
    }
}
