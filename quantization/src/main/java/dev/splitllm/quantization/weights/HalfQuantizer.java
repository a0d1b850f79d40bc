package dev.splitllm.quantization.weights;

import dev.splitllm.quantization.Half;

/**
 * F16 and BF16 weight conversion through {@link Half}, round to nearest even. Values that are
 * not finite, or that overflow fp16 (|x| beyond 65504 after rounding), are rejected with the
 * tensor's name rather than silently becoming infinities.
 */
public final class HalfQuantizer {
    private HalfQuantizer() {}

    /** Converts n values x[xOff ..] to fp16 bits at out[outOff ..]. */
    public static void toF16(float[] x, int xOff, int n, short[] out, int outOff, String name) {
        for (int i = 0; i < n; i++) {
            float v = x[xOff + i];
            TensorChecks.finite(v, name, xOff + i);
            short h = Half.fromFloat(v);
            if ((h & 0x7c00) == 0x7c00) {
                throw new IllegalArgumentException(name + ": weight " + v + " at element " + (xOff + i)
                        + " overflows f16 (largest is 65504)");
            }
            out[outOff + i] = h;
        }
    }

    /** Converts n values x[xOff ..] to bfloat16 bits at out[outOff ..]. */
    public static void toBF16(float[] x, int xOff, int n, short[] out, int outOff, String name) {
        for (int i = 0; i < n; i++) {
            float v = x[xOff + i];
            TensorChecks.finite(v, name, xOff + i);
            short b = Half.floatToBf16(v);
            if ((b & 0x7f80) == 0x7f80) {
                throw new IllegalArgumentException(name + ": weight " + v + " at element " + (xOff + i)
                        + " overflows bf16");
            }
            out[outOff + i] = b;
        }
    }

    /** fp16 bits to floats. */
    public static void fromF16(short[] h, int hOff, int n, float[] out, int outOff) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = Half.toFloat(h[hOff + i]);
        }
    }

    /** bfloat16 bits to floats. */
    public static void fromBF16(short[] h, int hOff, int n, float[] out, int outOff) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = Half.bf16ToFloat(h[hOff + i]);
        }
    }

    /** Converts a row-major rows x cols matrix at src[srcOff ..] to F16 or BF16 bits. */
    public static short[] quantize(WeightFormat format, float[] src, int srcOff, int rows, int cols, String name) {
        if (format != WeightFormat.F16 && format != WeightFormat.BF16) {
            throw new IllegalArgumentException(name + ": HalfQuantizer handles f16 and bf16, not " + format);
        }
        short[] out = new short[TensorChecks.checkMatrix(format, src, srcOff, rows, cols, name)];
        if (format == WeightFormat.F16) {
            toF16(src, srcOff, out.length, out, 0, name);
        } else {
            toBF16(src, srcOff, out.length, out, 0, name);
        }
        return out;
    }
}
