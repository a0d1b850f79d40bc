package dev.splitllm.quantization.weights;

/**
 * Format-generic entry points over {@link Q8_0Quantizer}, {@link Q4_0Quantizer}, {@link KQuantizer} and
 * {@link HalfQuantizer}: quantize one row into a format's storage, decode it back, or
 * "fake-quantize" a whole matrix (quantize then dequantize) to measure the error a format adds.
 */
public final class WeightQuantizer {
    private WeightQuantizer() {}

    /**
     * Storage for one row of {@code cols} values in {@code format}: a float[] for F32, a short[]
     * for F16/BF16, a byte[] for the block formats.
     */
    public static Object newRowStorage(WeightFormat format, int cols) {
        switch (format) {
            case F32: return new float[cols];
            case F16: case BF16: return new short[cols];
            default: return new byte[(int) format.bytesFor(cols)];
        }
    }

    /** Encodes x[xOff .. xOff+n) into {@code storage} (from {@link #newRowStorage}) at element/byte offset outOff. */
    public static void quantizeRow(WeightFormat format, float[] x, int xOff, int n, Object storage, int outOff, String name) {
        switch (format) {
            case F32:
                for (int i = 0; i < n; i++) {
                    TensorChecks.finite(x[xOff + i], name, xOff + i);
                }
                System.arraycopy(x, xOff, (float[]) storage, outOff, n);
                break;
            case F16: HalfQuantizer.toF16(x, xOff, n, (short[]) storage, outOff, name); break;
            case BF16: HalfQuantizer.toBF16(x, xOff, n, (short[]) storage, outOff, name); break;
            case Q8_0: Q8_0Quantizer.quantizeRow(x, xOff, n, (byte[]) storage, outOff, name); break;
            case Q4_0: Q4_0Quantizer.quantizeRow(x, xOff, n, (byte[]) storage, outOff, name); break;
            case Q4_K: KQuantizer.quantizeQ4K(x, xOff, n, (byte[]) storage, outOff, name); break;
            case Q5_K: KQuantizer.quantizeQ5K(x, xOff, n, (byte[]) storage, outOff, name); break;
            case Q6_K: KQuantizer.quantizeQ6K(x, xOff, n, (byte[]) storage, outOff, name); break;
            default: throw new IllegalArgumentException(name + ": unsupported weight format " + format);
        }
    }

    /** Decodes n values from {@code storage} at element/byte offset off into out[outOff ..]. */
    public static void dequantizeRow(WeightFormat format, Object storage, int off, int n, float[] out, int outOff) {
        switch (format) {
            case F32: System.arraycopy((float[]) storage, off, out, outOff, n); break;
            case F16: HalfQuantizer.fromF16((short[]) storage, off, n, out, outOff); break;
            case BF16: HalfQuantizer.fromBF16((short[]) storage, off, n, out, outOff); break;
            case Q8_0: Q8_0Quantizer.dequantizeRow((byte[]) storage, off, n, out, outOff); break;
            case Q4_0: Q4_0Quantizer.dequantizeRow((byte[]) storage, off, n, out, outOff); break;
            case Q4_K: KQuantizer.dequantizeQ4K((byte[]) storage, off, n, out, outOff); break;
            case Q5_K: KQuantizer.dequantizeQ5K((byte[]) storage, off, n, out, outOff); break;
            case Q6_K: KQuantizer.dequantizeQ6K((byte[]) storage, off, n, out, outOff); break;
            default: throw new IllegalArgumentException("unsupported weight format " + format);
        }
    }

    /**
     * Quantizes a row-major rows x cols matrix at src[srcOff ..] to {@code format} and decodes it
     * again: the weights the engine would effectively compute with.
     */
    public static float[] roundTrip(WeightFormat format, float[] src, int srcOff, int rows, int cols, String name) {
        TensorChecks.checkMatrix(format, src, srcOff, rows, cols, name);
        if ((long) rows * cols > TensorChecks.MAX_ARRAY) {
            throw new IllegalArgumentException(name + ": " + rows + "x" + cols + " is too large for one float array");
        }
        float[] out = new float[rows * cols];
        Object row = newRowStorage(format, cols);
        for (int r = 0; r < rows; r++) {
            quantizeRow(format, src, srcOff + r * cols, cols, row, 0, name);
            dequantizeRow(format, row, 0, cols, out, r * cols);
        }
        return out;
    }
}
