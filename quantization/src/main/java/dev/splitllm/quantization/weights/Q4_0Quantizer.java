package dev.splitllm.quantization.weights;

import dev.splitllm.quantization.Half;

/**
 * Q4_0 quantization with llama.cpp's exact conventions ({@code quantize_row_q4_0_ref}): per block
 * of 32 values, find the value {@code max} of largest magnitude keeping its sign, set
 * {@code d = max / -8} (stored as fp16, little-endian) and code each value as
 * {@code q = min(15, (int)(x * (1/d) + 8.5))}; element j goes to the low nibble of byte j and
 * element j+16 to its high nibble. A value decodes as {@code (q - 8) * fp16(d)}.
 *
 * <p>The extreme value maps to code 0 and decodes exactly (up to the fp16 scale). Values of the
 * opposite sign reach up to {@code +8} steps but are clamped to {@code +7}, so the per-element
 * error is at most {@code |d|/2} where {@code x/d <= 7.5} and at most {@code |d|} elsewhere, plus
 * {@code |q - 8| * |d - fp16(d)|}. An all-zero block stores {@code d = -0.0} (fp16 0x8000), as
 * llama.cpp does, and codes 8.
 */
public final class Q4_0Quantizer {
    private Q4_0Quantizer() {}

    /** Elements per block. */
    public static final int BLOCK = 32;
    /** Bytes per block: fp16 scale + 16 bytes of nibbles. */
    public static final int BLOCK_BYTES = 18;

    /**
     * Quantizes n values x[xOff ..] (n a multiple of 32) into out[outOff ..] (n / 32 * 18 bytes).
     * Non-finite values and blocks whose scale overflows fp16 are rejected, naming {@code name}.
     */
    public static void quantizeRow(float[] x, int xOff, int n, byte[] out, int outOff, String name) {
        if (n % BLOCK != 0) {
            throw new IllegalArgumentException(name + ": q4_0 needs a multiple of 32 values, got " + n);
        }
        for (int b = 0; b < n; b += BLOCK, outOff += BLOCK_BYTES) {
            int base = xOff + b;
            float amax = 0;
            float max = 0;
            for (int j = 0; j < BLOCK; j++) {
                float v = x[base + j];
                TensorChecks.finite(v, name, base + j);
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            if (Math.abs(d) > Half.MAX_VALUE) {
                throw new IllegalArgumentException(name + ": block at element " + base + " has |x| = " + amax
                        + ", beyond q4_0's range (scale overflows fp16)");
            }
            float id = d != 0 ? 1.0f / d : 0.0f;
            short h = Half.fromFloat(d);
            out[outOff] = (byte) h;
            out[outOff + 1] = (byte) (h >> 8);
            for (int j = 0; j < BLOCK / 2; j++) {
                int q0 = Math.min(15, (int) (x[base + j] * id + 8.5f));
                int q1 = Math.min(15, (int) (x[base + j + BLOCK / 2] * id + 8.5f));
                out[outOff + 2 + j] = (byte) (q0 | (q1 << 4));
            }
        }
    }

    /** Decodes n values (n / 32 blocks) from w[wOff ..] into out[outOff ..]. */
    public static void dequantizeRow(byte[] w, int wOff, int n, float[] out, int outOff) {
        for (int b = 0; b < n; b += BLOCK, wOff += BLOCK_BYTES) {
            float d = Half.toFloat((short) ((w[wOff] & 0xff) | (w[wOff + 1] << 8)));
            for (int j = 0; j < BLOCK / 2; j++) {
                int packed = w[wOff + 2 + j];
                out[outOff + b + j] = ((packed & 0x0f) - 8) * d;
                out[outOff + b + j + BLOCK / 2] = (((packed >> 4) & 0x0f) - 8) * d;
            }
        }
    }

    /** Quantizes a row-major rows x cols matrix stored at src[srcOff ..]; returns its blocks. */
    public static byte[] quantize(float[] src, int srcOff, int rows, int cols, String name) {
        byte[] out = new byte[TensorChecks.checkMatrix(WeightFormat.Q4_0, src, srcOff, rows, cols, name)];
        int rowBytes = cols / BLOCK * BLOCK_BYTES;
        for (int r = 0; r < rows; r++) {
            quantizeRow(src, srcOff + r * cols, cols, out, r * rowBytes, name);
        }
        return out;
    }
}
