package dev.splitllm.quantization.weights;

import dev.splitllm.quantization.Half;

/**
 * Q8_0 quantization with llama.cpp's exact conventions ({@code quantize_row_q8_0_ref}): per block
 * of 32 values, {@code d = absmax / 127} stored as fp16 (little-endian), then 32 signed bytes
 * {@code q = roundf(x * (1/d))} with rounding half away from zero. A value decodes as
 * {@code q * fp16(d)}. An all-zero block has {@code d = 0} and all codes zero.
 *
 * <p>Per element the round-trip error is at most {@code d/2 + |q| * |d - fp16(d)|} (half a step
 * plus the scale's own fp16 rounding).
 */
public final class Q8_0Quantizer {
    private Q8_0Quantizer() {}

    /** Elements per block. */
    public static final int BLOCK = 32;
    /** Bytes per block: fp16 scale + 32 codes. */
    public static final int BLOCK_BYTES = 34;

    /**
     * Quantizes n values x[xOff ..] (n a multiple of 32) into out[outOff ..] (n / 32 * 34 bytes).
     * Non-finite values and blocks whose scale overflows fp16 are rejected, naming {@code name}.
     */
    public static void quantizeRow(float[] x, int xOff, int n, byte[] out, int outOff, String name) {
        if (n % BLOCK != 0) {
            throw new IllegalArgumentException(name + ": q8_0 needs a multiple of 32 values, got " + n);
        }
        for (int b = 0; b < n; b += BLOCK, outOff += BLOCK_BYTES) {
            int base = xOff + b;
            float amax = 0;
            for (int j = 0; j < BLOCK; j++) {
                float v = x[base + j];
                TensorChecks.finite(v, name, base + j);
                amax = Math.max(amax, Math.abs(v));
            }
            float d = amax / 127;
            if (d > Half.MAX_VALUE) {
                throw new IllegalArgumentException(name + ": block at element " + base + " has |x| = " + amax
                        + ", beyond q8_0's range (scale overflows fp16)");
            }
            float id = d != 0 ? 1.0f / d : 0.0f;
            short h = Half.fromFloat(d);
            out[outOff] = (byte) h;
            out[outOff + 1] = (byte) (h >> 8);
            for (int j = 0; j < BLOCK; j++) {
                out[outOff + 2 + j] = (byte) roundAwayFromZero(x[base + j] * id);
            }
        }
    }

    /** Decodes n values (n / 32 blocks) from w[wOff ..] into out[outOff ..]. */
    public static void dequantizeRow(byte[] w, int wOff, int n, float[] out, int outOff) {
        for (int b = 0; b < n; b += BLOCK, wOff += BLOCK_BYTES) {
            float d = Half.toFloat((short) ((w[wOff] & 0xff) | (w[wOff + 1] << 8)));
            for (int j = 0; j < BLOCK; j++) {
                out[outOff + b + j] = w[wOff + 2 + j] * d;
            }
        }
    }

    /** Quantizes a row-major rows x cols matrix stored at src[srcOff ..]; returns its blocks. */
    public static byte[] quantize(float[] src, int srcOff, int rows, int cols, String name) {
        byte[] out = new byte[TensorChecks.checkMatrix(WeightFormat.Q8_0, src, srcOff, rows, cols, name)];
        int rowBytes = cols / BLOCK * BLOCK_BYTES;
        for (int r = 0; r < rows; r++) {
            quantizeRow(src, srcOff + r * cols, cols, out, r * rowBytes, name);
        }
        return out;
    }

    /** C's {@code roundf}: nearest integer, halves away from zero (unlike {@link Math#round}). */
    static int roundAwayFromZero(float v) {
        float a = Math.abs(v);
        float f = (float) Math.floor(a);
        if (a - f >= 0.5f) {
            f += 1;
        }
        return (int) Math.copySign(f, v);
    }
}
