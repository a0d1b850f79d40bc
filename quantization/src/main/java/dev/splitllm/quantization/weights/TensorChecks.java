package dev.splitllm.quantization.weights;

/**
 * Argument checks shared by the weight quantizers, with messages that name the tensor so a bad
 * model file or plan points at the offending weight.
 */
final class TensorChecks {
    private TensorChecks() {}

    /** Largest array the quantizers will allocate (a Java array limit, with headroom). */
    static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    /**
     * Checks a rows x cols matrix in {@code format} read from src[srcOff ..] and returns its
     * storage size in units of the output array (bytes for block formats, elements otherwise).
     */
    static int checkMatrix(WeightFormat format, float[] src, int srcOff, int rows, int cols, String name) {
        if (format == null) {
            throw new IllegalArgumentException(name + ": weight format is null");
        }
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException(name + ": matrix dimensions must be positive, got " + rows + "x" + cols);
        }
        if (cols % format.blockSize != 0) {
            throw new IllegalArgumentException(name + ": " + format.id() + " needs the row length to be a multiple of "
                    + format.blockSize + ", got " + rows + "x" + cols);
        }
        long n = (long) rows * cols;
        if (srcOff < 0 || srcOff + n > src.length) {
            throw new IllegalArgumentException(name + ": " + rows + "x" + cols + " values at offset " + srcOff
                    + " exceed the source array of " + src.length);
        }
        long units = format.blockSize == 1 ? n : format.bytesFor(n);
        if (units > MAX_ARRAY) {
            throw new IllegalArgumentException(name + ": " + rows + "x" + cols + " at " + format.id()
                    + " needs " + units + " array slots, more than one Java array can hold");
        }
        return (int) units;
    }

    /** Throws unless x is finite. */
    static void finite(float x, String name, long index) {
        if (!Float.isFinite(x)) {
            throw new IllegalArgumentException(name + ": non-finite weight " + x + " at element " + index);
        }
    }
}
