package dev.splitllm.engine.kernels;

import dev.splitllm.quantization.Half;

/**
 * fp16 block scales decoded by table lookup: every 16-bit pattern maps to its float (256 KiB,
 * built once). The quantized kernels read one scale per 32 weights; a lookup is a single load
 * where {@link Half#toFloat} is a dozen dependent scalar operations with a branch, which showed
 * up as a large share of a Q4_0 dot product.
 */
public final class Fp16Scales {
    private Fp16Scales() {}

    private static final float[] TABLE = new float[1 << 16];
    static {
        for (int h = 0; h < TABLE.length; h++) {
            TABLE[h] = Half.toFloat((short) h);
        }
    }

    /** The little-endian fp16 at w[off], w[off+1] as a float. */
    public static float at(byte[] w, int off) {
        return TABLE[(w[off] & 0xff) | ((w[off + 1] & 0xff) << 8)];
    }
}
