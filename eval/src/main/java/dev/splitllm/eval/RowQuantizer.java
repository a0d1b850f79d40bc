package dev.splitllm.eval;

/**
 * A baseline's activation format for rows of a fixed width: quantize-dequantize in place, and
 * the bits one row takes when stored (codes plus scales and zero points).
 */
public interface RowQuantizer {
    /** Quantizes {@code tokens} rows of {@code x} in place. */
    void apply(float[] x, int tokens, int width);

    /** Stored bits per row of {@code width} values. */
    long bitsPerRow(int width);
}
