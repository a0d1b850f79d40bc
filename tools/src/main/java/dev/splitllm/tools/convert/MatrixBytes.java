package dev.splitllm.tools.convert;

import dev.splitllm.engine.tensor.BF16Matrix;
import dev.splitllm.engine.tensor.F16Matrix;
import dev.splitllm.engine.tensor.F32Matrix;
import dev.splitllm.engine.tensor.BlockMatrix;
import dev.splitllm.engine.tensor.WeightMatrix;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The raw little-endian bytes of weights, in ggml/safetensors layout (rows back to back). */
public final class MatrixBytes {
    private MatrixBytes() {}

    /** A matrix's storage as bytes (F32/F16/BF16 little-endian, Q8_0/Q4_0/k-quant blocks as they are). */
    public static byte[] of(WeightMatrix m) {
        int n = Math.multiplyExact(m.rows(), m.cols());
        if (m instanceof F32Matrix) {
            F32Matrix f = (F32Matrix) m;
            ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(4, n)).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(f.data(), f.offset(), n);
            return b.array();
        }
        if (m instanceof F16Matrix || m instanceof BF16Matrix) {
            short[] s = m instanceof F16Matrix ? ((F16Matrix) m).data() : ((BF16Matrix) m).data();
            ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(2, n)).order(ByteOrder.LITTLE_ENDIAN);
            b.asShortBuffer().put(s);
            return b.array();
        }
        if (m instanceof BlockMatrix) return ((BlockMatrix) m).data().clone();
        throw new IllegalArgumentException("no byte layout for " + m);
    }

    /** F32 values as little-endian bytes. */
    public static byte[] of(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(4, v.length)).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }
}
