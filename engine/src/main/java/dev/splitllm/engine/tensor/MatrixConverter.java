package dev.splitllm.engine.tensor;

import dev.splitllm.quantization.weights.HalfQuantizer;
import dev.splitllm.quantization.weights.Q4_0Quantizer;
import dev.splitllm.quantization.weights.Q8_0Quantizer;
import dev.splitllm.quantization.weights.WeightFormat;
import dev.splitllm.quantization.weights.WeightQuantizer;

/**
 * Converts a {@link WeightMatrix} to another storage format with the quantizers of
 * {@code dev.splitllm.quantization.weights} (llama.cpp conventions). An F32 source is encoded
 * straight from its array; any other source is decoded one row at a time, so converting
 * never holds a second full-precision copy.
 */
public final class MatrixConverter {
    private MatrixConverter() {}

    /**
     * {@code m} in {@code target} format; {@code m} itself when it already is. Errors (row length
     * not a multiple of the block size, non-finite or out-of-range weights, too large for one
     * array) name {@code tensorName}.
     */
    public static WeightMatrix convert(WeightMatrix m, WeightFormat target, String tensorName) {
        if (target == null) {
            throw new IllegalArgumentException(tensorName + ": target weight format is null");
        }
        int rows = m.rows(), cols = m.cols();
        target = target.forRowLength(cols); // a k-quant falls back on rows of other lengths
        if (m.format() == target) {
            return m;
        }
        if (cols % target.blockSize != 0) {
            throw new IllegalArgumentException(tensorName + " (" + rows + "x" + cols + "): " + target.id()
                    + " needs the row length to be a multiple of " + target.blockSize);
        }
        long units = target.blockSize == 1 ? (long) rows * cols : target.bytesFor((long) rows * cols);
        if (units > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(tensorName + " (" + rows + "x" + cols + ") at " + target.id()
                    + " is too large for one array");
        }
        if (m instanceof F32Matrix) {
            F32Matrix f = (F32Matrix) m;
            return fromF32(f.data(), f.offset(), rows, cols, target, tensorName);
        }
        Object storage = newStorage(target, (int) units);
        int rowUnits = (int) (units / rows);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.readRow(r, row, 0);
            WeightQuantizer.quantizeRow(target, row, 0, cols, storage, r * rowUnits, tensorName);
        }
        return wrap(target, storage, rows, cols);
    }

    /** Encodes a row-major rows x cols F32 matrix at src[off ..] as {@code target}. */
    public static WeightMatrix fromF32(float[] src, int off, int rows, int cols, WeightFormat target, String tensorName) {
        target = target.forRowLength(cols);
        switch (target) {
            case F32: {
                float[] copy = new float[Math.multiplyExact(rows, cols)];
                WeightQuantizer.quantizeRow(WeightFormat.F32, src, off, copy.length, copy, 0, tensorName);
                return new F32Matrix(copy, rows, cols);
            }
            case F16: return new F16Matrix(HalfQuantizer.quantize(target, src, off, rows, cols, tensorName), rows, cols);
            case BF16: return new BF16Matrix(HalfQuantizer.quantize(target, src, off, rows, cols, tensorName), rows, cols);
            case Q8_0: return new Q8_0Matrix(Q8_0Quantizer.quantize(src, off, rows, cols, tensorName), rows, cols);
            case Q4_0: return new Q4_0Matrix(Q4_0Quantizer.quantize(src, off, rows, cols, tensorName), rows, cols);
            case Q4_K: case Q5_K: case Q6_K: {
                byte[] b = new byte[(int) target.bytesFor((long) rows * cols)];
                int rowBytes = (int) target.bytesFor(cols);
                for (int r = 0; r < rows; r++) {
                    WeightQuantizer.quantizeRow(target, src, off + r * cols, cols, b, r * rowBytes, tensorName);
                }
                return wrap(target, b, rows, cols);
            }
            default: throw new IllegalArgumentException(tensorName + ": unsupported weight format " + target);
        }
    }

    /** Decodes the whole matrix to a new row-major float array (for tests and reference maths). */
    public static float[] dequantize(WeightMatrix m) {
        float[] out = new float[Math.multiplyExact(m.rows(), m.cols())];
        for (int r = 0; r < m.rows(); r++) {
            m.readRow(r, out, r * m.cols());
        }
        return out;
    }

    private static Object newStorage(WeightFormat f, int units) {
        switch (f) {
            case F32: return new float[units];
            case F16: case BF16: return new short[units];
            default: return new byte[units];
        }
    }

    private static WeightMatrix wrap(WeightFormat f, Object storage, int rows, int cols) {
        switch (f) {
            case F32: return new F32Matrix((float[]) storage, rows, cols);
            case F16: return new F16Matrix((short[]) storage, rows, cols);
            case BF16: return new BF16Matrix((short[]) storage, rows, cols);
            case Q8_0: return new Q8_0Matrix((byte[]) storage, rows, cols);
            case Q4_0: return new Q4_0Matrix((byte[]) storage, rows, cols);
            case Q4_K: return new Q4_KMatrix((byte[]) storage, rows, cols);
            case Q5_K: return new Q5_KMatrix((byte[]) storage, rows, cols);
            case Q6_K: return new Q6_KMatrix((byte[]) storage, rows, cols);
            default: throw new IllegalArgumentException("unsupported weight format " + f);
        }
    }
}
