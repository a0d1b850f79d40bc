package dev.splitllm.engine.tensor;

import dev.splitllm.quantization.weights.WeightFormat;

/** Shared checks for the block-quantized formats (ggml layout, rows stored back to back). */
public abstract class BlockMatrix extends WeightMatrix {
    protected final byte[] data;
    protected final int rowBytes;

    BlockMatrix(byte[] data, int rows, int cols) {
        super(rows, cols);
        long need = format().bytesFor((long) rows * cols);
        if (need != data.length) {
            throw new IllegalArgumentException(format() + " matrix " + rows + "x" + cols + " needs " + need + " bytes, got " + data.length);
        }
        this.data = data;
        this.rowBytes = (int) format().bytesFor(cols);
    }

    @Override
    public abstract WeightFormat format();

    /** The raw blocks (shared, not copied). */
    public byte[] data() {
        return data;
    }
}
