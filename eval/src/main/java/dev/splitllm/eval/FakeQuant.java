package dev.splitllm.eval;

import dev.splitllm.quantization.Half;

/**
 * Quantize-dequantize ("fake quantization") kernels for the whole-model baselines: values are
 * rounded to the integer grid a real int kernel would use and written back as floats, so the
 * fp32 forward computes exactly what an integer kernel with the same scales would (up to float
 * summation order). Scales are rounded to fp16, as they would be stored. Rounding is
 * half away from zero ({@link Math#round} on magnitudes).
 */
public final class FakeQuant {
    private FakeQuant() {}

    /** Symmetric signed {@code bits}-bit quantization of {@code v[off, off+n)} with one absmax scale, in place. */
    public static void symmetric(float[] v, int off, int n, int bits) {
        symmetric(v, off, n, 1, bits);
    }

    /**
     * Symmetric quantization of the {@code n} values at {@code v[off + i*stride]} with one
     * absmax scale ({@code max = 2^(bits-1) - 1}), in place.
     */
    public static void symmetric(float[] v, int off, int n, int stride, int bits) {
        int qmax = (1 << (bits - 1)) - 1;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            amax = Math.max(amax, Math.abs(v[off + i * stride]));
        }
        if (amax == 0) {
            return;
        }
        float scale = Half.toFloat(Half.fromFloat(amax / qmax));
        if (scale == 0) {
            scale = Float.MIN_NORMAL;
        }
        float inv = 1f / scale;
        for (int i = 0; i < n; i++) {
            int at = off + i * stride;
            int q = Math.round(v[at] * inv);
            q = Math.max(-qmax, Math.min(qmax, q));
            v[at] = q * scale;
        }
    }

    /**
     * Asymmetric min-max quantization to {@code bits} bits of {@code n} values at
     * {@code v[off + idx[i]]} (fp16 scale, integer zero point), in place.
     */
    public static void asymmetric(float[] v, int off, int[] idx, int from, int n, int bits) {
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float x = v[off + idx[from + i]];
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
        }
        lo = Math.min(lo, 0f);
        hi = Math.max(hi, 0f);
        int levels = (1 << bits) - 1;
        if (hi == lo) {
            return;
        }
        float scale = Half.toFloat(Half.fromFloat((hi - lo) / levels));
        if (scale == 0) {
            scale = Float.MIN_NORMAL;
        }
        int zero = Math.round(-lo / scale);
        zero = Math.max(0, Math.min(levels, zero));
        float inv = 1f / scale;
        for (int i = 0; i < n; i++) {
            int at = off + idx[from + i];
            int q = Math.round(v[at] * inv) + zero;
            q = Math.max(0, Math.min(levels, q));
            v[at] = (q - zero) * scale;
        }
    }

    /** Symmetric quantization of the values at {@code v[off + idx[from..from+n)]}, in place. */
    public static void symmetric(float[] v, int off, int[] idx, int from, int n, int bits) {
        int qmax = (1 << (bits - 1)) - 1;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            amax = Math.max(amax, Math.abs(v[off + idx[from + i]]));
        }
        if (amax == 0) {
            return;
        }
        float scale = Half.toFloat(Half.fromFloat(amax / qmax));
        if (scale == 0) {
            scale = Float.MIN_NORMAL;
        }
        float inv = 1f / scale;
        for (int i = 0; i < n; i++) {
            int at = off + idx[from + i];
            int q = Math.max(-qmax, Math.min(qmax, Math.round(v[at] * inv)));
            v[at] = q * scale;
        }
    }
}
