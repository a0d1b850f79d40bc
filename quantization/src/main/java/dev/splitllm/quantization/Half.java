package dev.splitllm.quantization;

/**
 * IEEE 754 half precision (fp16) and bfloat16 conversions. Java 17 has no
 * {@code Float.floatToFloat16}, and Android's desugared library neither, so they live here.
 * Rounding is round-to-nearest-even in both directions, matching the JDK 20+ methods and
 * llama.cpp's {@code GGML_FP32_TO_FP16}.
 */
public final class Half {
    private Half() {}

    /** Largest finite fp16 value. */
    public static final float MAX_VALUE = 65504f;

    /** fp16 bits to float, exact. */
    public static float toFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int expMant = bits & 0x7fff;
        if (expMant >= 0x7c00) { // inf or nan
            return Float.intBitsToFloat(sign | 0x7f800000 | ((expMant & 0x3ff) << 13));
        }
        // Shift into float position and rescale by 2^112: exact for normals and subnormals.
        float magnitude = Float.intBitsToFloat(expMant << 13) * 0x1p112f;
        return sign == 0 ? magnitude : -magnitude;
    }

    /** float to fp16 bits, round to nearest even; overflow gives infinity, NaN stays NaN. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) { // inf or nan
            return (short) (sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 | ((abs >>> 13) & 0x3ff) : 0));
        }
        if (abs >= 0x477ff000) { // rounds to >= 65520: overflow
            return (short) (sign | 0x7c00);
        }
        if (abs < 0x38800000) { // below the smallest normal half (2^-14): subnormal or zero
            // Adding 0.5 (2^-1) aligns the half subnormal grid (2^-24) onto the float mantissa's
            // last bits, and the FPU rounds to nearest even for us.
            float shifted = Float.intBitsToFloat(abs) + 0.5f;
            return (short) (sign | (Float.floatToRawIntBits(shifted) - 0x3f000000));
        }
        int mantOdd = (abs >>> 13) & 1;
        abs += 0xc8000fff + mantOdd; // rebias exponent (-112 << 23) and round to nearest even
        return (short) (sign | (abs >>> 13));
    }

    /** bfloat16 bits to float, exact. */
    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    /** float to bfloat16 bits, round to nearest even; NaN stays NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
