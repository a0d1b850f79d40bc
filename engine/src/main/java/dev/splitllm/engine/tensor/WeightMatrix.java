package dev.splitllm.engine.tensor;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.quantization.weights.WeightFormat;

/**
 * A rows x cols weight matrix in one storage format; one subclass per format. The engine
 * computes y = W x with one {@link #dot} per output row.
 */
public abstract class WeightMatrix {
    protected final int rows;
    protected final int cols;

    protected WeightMatrix(int rows, int cols) {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("matrix dimensions must be positive, got " + rows + "x" + cols);
        }
        if (cols % format().blockSize != 0) {
            throw new IllegalArgumentException(format() + " needs cols to be a multiple of " + format().blockSize + ", got " + cols);
        }
        this.rows = rows;
        this.cols = cols;
    }

    public final int rows() {
        return rows;
    }

    public final int cols() {
        return cols;
    }

    public abstract WeightFormat format();

    /** Dot product of row {@code row} with x[xOff .. xOff+cols). */
    public abstract float dot(Kernels k, int row, float[] x, int xOff);

    /** Writes row {@code row}, dequantized, to out[off .. off+cols). */
    public abstract void readRow(int row, float[] out, int off);

    /** Bytes of weight storage held (exact; the array payloads). */
    public final long bytes() {
        return format().bytesFor((long) rows * cols);
    }

    @Override
    public String toString() {
        return format() + "[" + rows + "x" + cols + "]";
    }
}
