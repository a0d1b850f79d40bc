package dev.splitllm.engine.tensor;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.quantization.Half;
import dev.splitllm.quantization.weights.WeightFormat;

/** Row-major bfloat16 weights (raw bits). */
public final class BF16Matrix extends WeightMatrix {
    private final short[] data;

    public BF16Matrix(short[] data, int rows, int cols) {
        super(rows, cols);
        if ((long) rows * cols != data.length) {
            throw new IllegalArgumentException("BF16 matrix " + rows + "x" + cols + " needs " + (long) rows * cols + " values, got " + data.length);
        }
        this.data = data;
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.BF16;
    }

    @Override
    public float dot(Kernels k, int row, float[] x, int xOff) {
        return k.dotBF16(data, row * cols, x, xOff, cols);
    }

    @Override
    public void readRow(int row, float[] out, int off) {
        int base = row * cols;
        for (int i = 0; i < cols; i++) {
            out[off + i] = Half.bf16ToFloat(data[base + i]);
        }
    }

    public short[] data() {
        return data;
    }
}
