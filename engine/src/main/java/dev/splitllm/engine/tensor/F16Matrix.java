package dev.splitllm.engine.tensor;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.quantization.Half;
import dev.splitllm.quantization.weights.WeightFormat;

/** Row-major IEEE half-precision weights (raw fp16 bits). */
public final class F16Matrix extends WeightMatrix {
    private final short[] data;

    public F16Matrix(short[] data, int rows, int cols) {
        super(rows, cols);
        if ((long) rows * cols != data.length) {
            throw new IllegalArgumentException("F16 matrix " + rows + "x" + cols + " needs " + (long) rows * cols + " values, got " + data.length);
        }
        this.data = data;
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.F16;
    }

    @Override
    public float dot(Kernels k, int row, float[] x, int xOff) {
        return k.dotF16(data, row * cols, x, xOff, cols);
    }

    @Override
    public void readRow(int row, float[] out, int off) {
        int base = row * cols;
        for (int i = 0; i < cols; i++) {
            out[off + i] = Half.toFloat(data[base + i]);
        }
    }

    public short[] data() {
        return data;
    }
}
