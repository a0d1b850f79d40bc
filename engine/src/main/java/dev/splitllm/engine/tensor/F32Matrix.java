package dev.splitllm.engine.tensor;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.Q8Activations;
import dev.splitllm.quantization.weights.WeightFormat;

/** Row-major 32-bit float weights. */
public final class F32Matrix extends WeightMatrix {
    private final float[] data;
    private final int offset;

    /** Wraps data[offset .. offset + rows*cols) without copying. */
    public F32Matrix(float[] data, int offset, int rows, int cols) {
        super(rows, cols);
        if (offset < 0 || (long) offset + (long) rows * cols > data.length) {
            throw new IllegalArgumentException("F32 matrix " + rows + "x" + cols + " at " + offset + " exceeds array of " + data.length);
        }
        this.data = data;
        this.offset = offset;
    }

    public F32Matrix(float[] data, int rows, int cols) {
        this(data, 0, rows, cols);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.F32;
    }

    @Override
    public float dot(Kernels k, int row, float[] x, int xOff) {
        return k.dotF32(data, offset + row * cols, x, xOff, cols);
    }

    @Override
    public void dotRows(Kernels k, int from, int to, float[] x, Q8Activations q8, int t, float[] out, int outOff) {
        int xOff = t * cols;
        // One row at a time: reading two or four rows per call (dot2F32 with dotF32's bits, and
        // a four-row tile) made f32 decode slower on the 512-bit kernels (docs/BENCHMARKS.md).
        for (int r = from; r < to; r++) {
            out[outOff + r - from] = k.dotF32(data, offset + r * cols, x, xOff, cols);
        }
    }

    @Override
    public void readRow(int row, float[] out, int off) {
        System.arraycopy(data, offset + row * cols, out, off, cols);
    }

    /** The backing array (shared, not copied) and the offset of element (0, 0). */
    public float[] data() {
        return data;
    }

    public int offset() {
        return offset;
    }
}
