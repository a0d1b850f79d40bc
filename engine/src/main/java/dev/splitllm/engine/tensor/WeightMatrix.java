package dev.splitllm.engine.tensor;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.Q8Activations;
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

    /**
     * True when, with kernels {@code k}, this format takes the activation row quantized to 8 bits
     * ({@link Q8Activations}, once per matmul) and multiplies in integers; false when it takes
     * floats. {@link #dotRows} is then called with the quantized rows.
     */
    public boolean takesQ8(Kernels k) {
        return false;
    }

    /**
     * out[outOff + (r - from)] = row r . (activation row t), for r in [from, to). The activation
     * row is x[t * cols ..] when q8 is null, else row t of {@code q8} (only when
     * {@link #takesQ8} says so). The default calls {@link #dot} per row; formats override it with
     * kernels that share the activation loads between several rows.
     */
    public void dotRows(Kernels k, int from, int to, float[] x, Q8Activations q8, int t, float[] out, int outOff) {
        for (int r = from; r < to; r++) {
            out[outOff + r - from] = dot(k, r, x, t * cols);
        }
    }

    /** Writes row {@code row}, dequantized, to out[off .. off+cols). */
    public abstract void readRow(int row, float[] out, int off);

    /**
     * Writes row {@code row}, dequantized (the values {@link #readRow} gives), to out[off + c * stride]
     * for c in [0, cols): one lane of a k-major prefill panel. {@code scratch} holds at least cols
     * floats; formats that decode straight into the panel do not touch it.
     */
    public void readRowStrided(int row, float[] out, int off, int stride, float[] scratch) {
        readRow(row, scratch, 0);
        for (int c = 0; c < cols; c++) {
            out[off + c * stride] = scratch[c];
        }
    }

    /** Bytes of weight storage held (exact; the array payloads). */
    public final long bytes() {
        return format().bytesFor((long) rows * cols);
    }

    @Override
    public String toString() {
        return format() + "[" + rows + "x" + cols + "]";
    }
}
