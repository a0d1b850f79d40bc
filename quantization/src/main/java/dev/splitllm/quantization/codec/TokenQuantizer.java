package dev.splitllm.quantization.codec;

import dev.splitllm.quantization.Half;

/**
 * Per-token asymmetric min-max quantization of one row, the core of TAB-Q and UNIFORM.
 *
 * <p>For a row r of d values and bit-width b, with L = 2^b - 1: the range is widened to include 0
 * ({@code lo = min(min r, 0)}, {@code hi = max(max r, 0)}) so that zero is always exactly
 * representable; the scale is {@code s = fp16 rounded up of (hi - lo) / L}; the zero point is
 * {@code z = round(-lo / s)}; each code is {@code q = clamp(round(r / s + z), 0, L)}, rounding the
 * non-negative shifted value half away from zero (only the encoder rounds); decoding gives
 * {@code s * (q - z)}. Every value then lies within s/2 of its reconstruction. A row of zeros gets
 * s = 0, z = 0.
 *
 * <p>Not thread-safe: holds the codes of the last quantized row.
 */
final class TokenQuantizer {
    /** Elements between two checks of the error budget (early exit for widths that clearly fail). */
    private static final int CHUNK = 64;

    private byte[] codes = new byte[0];
    private float lo;
    private float hi;
    private double sumSquares;
    private short scaleHalf;
    private int zero;
    private int bits;

    /** Codes of the last quantized row. */
    byte[] codes() {
        return codes;
    }

    /** fp16 bits of the last scale. */
    short scaleHalf() {
        return scaleHalf;
    }

    /** Zero point of the last row. */
    int zero() {
        return zero;
    }

    /** Bit-width of the last row. */
    int bits() {
        return bits;
    }

    /** ||r||^2 of the analysed row. */
    double sumSquares() {
        return sumSquares;
    }

    /**
     * Finds the row's range (with 0 included) and squared norm. Returns false when the row holds a
     * non-finite value (or one whose square overflows float, which no fp16 scale could cover anyway).
     */
    boolean analyse(float[] r, int d) {
        if (codes.length < d) {
            codes = new byte[d];
        }
        // Plain comparisons (not Math.min/max, which pay for NaN and -0 rules): NaN and
        // infinities still show up in the sum of squares.
        float min0 = 0f, min1 = 0f, max0 = 0f, max1 = 0f;
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int i = 0;
        for (; i + 3 < d; i += 4) {
            float a = r[i], b = r[i + 1], c = r[i + 2], e = r[i + 3];
            min0 = a < min0 ? a : min0;
            min1 = b < min1 ? b : min1;
            min0 = c < min0 ? c : min0;
            min1 = e < min1 ? e : min1;
            max0 = a > max0 ? a : max0;
            max1 = b > max1 ? b : max1;
            max0 = c > max0 ? c : max0;
            max1 = e > max1 ? e : max1;
            s0 += a * a;
            s1 += b * b;
            s2 += c * c;
            s3 += e * e;
        }
        for (; i < d; i++) {
            float a = r[i];
            min0 = a < min0 ? a : min0;
            max0 = a > max0 ? a : max0;
            s0 += a * a;
        }
        lo = min0 < min1 ? min0 : min1;
        hi = max0 > max1 ? max0 : max1;
        sumSquares = ((double) s0 + s1) + ((double) s2 + s3);
        return Double.isFinite(sumSquares);
    }

    /**
     * Takes a row's range (0 included) and squared norm measured elsewhere, instead of
     * {@link #analyse}. Returns false when they are not finite.
     */
    boolean useStats(float lo, float hi, double sumSquares) {
        this.lo = lo;
        this.hi = hi;
        this.sumSquares = sumSquares;
        return Double.isFinite(sumSquares);
    }

    /**
     * Quantizes the analysed row at {@code b} bits. Returns false, possibly before finishing, as
     * soon as the squared error exceeds {@code errorBudget}; pass +inf to always finish.
     *
     * @throws IllegalArgumentException when the scale does not fit fp16
     */
    boolean quantize(float[] r, int d, int b, double errorBudget) {
        if (codes.length < d) {
            codes = new byte[d];
        }
        bits = b;
        int levels = (1 << b) - 1;
        byte[] q = codes;
        if (hi - lo == 0f) { // all zeros: any code reconstructs 0 with s = 0
            scaleHalf = 0;
            zero = 0;
            java.util.Arrays.fill(q, 0, d, (byte) 0);
            return true;
        }
        scaleHalf = ScaleMath.fp16Ceil((hi - lo) / levels);
        float s = Half.toFloat(scaleHalf);
        zero = Math.min(levels, (int) (-lo / s + 0.5f));
        float inv = 1f / s;
        float shift = zero + 0.5f;
        float fz = zero;
        // Within-s/2 bound: below it the exact error cannot exceed the budget, skip measuring it.
        if ((double) d * 0.25 * s * s * 1.0001 <= errorBudget) {
            for (int i = 0; i < d; i++) {
                q[i] = (byte) code(r[i], inv, shift, levels);
            }
            return true;
        }
        double error = 0;
        for (int start = 0; start < d; start += CHUNK) {
            int end = Math.min(d, start + CHUNK);
            float e0 = 0f, e1 = 0f, e2 = 0f, e3 = 0f;
            int i = start;
            for (; i + 3 < end; i += 4) {
                int c0 = code(r[i], inv, shift, levels);
                int c1 = code(r[i + 1], inv, shift, levels);
                int c2 = code(r[i + 2], inv, shift, levels);
                int c3 = code(r[i + 3], inv, shift, levels);
                q[i] = (byte) c0;
                q[i + 1] = (byte) c1;
                q[i + 2] = (byte) c2;
                q[i + 3] = (byte) c3;
                float d0 = r[i] - s * (c0 - fz);
                float d1 = r[i + 1] - s * (c1 - fz);
                float d2 = r[i + 2] - s * (c2 - fz);
                float d3 = r[i + 3] - s * (c3 - fz);
                e0 += d0 * d0;
                e1 += d1 * d1;
                e2 += d2 * d2;
                e3 += d3 * d3;
            }
            for (; i < end; i++) {
                int c0 = code(r[i], inv, shift, levels);
                q[i] = (byte) c0;
                float d0 = r[i] - s * (c0 - fz);
                e0 += d0 * d0;
            }
            error += ((double) e0 + e1) + ((double) e2 + e3);
            if (error > errorBudget) {
                return false;
            }
        }
        return true;
    }

    /**
     * The code of one value: {@code clamp(round(v/s + z), 0, L)}, rounding the shifted value
     * {@code v/s + z} half away from zero. That value is never below -1/2 (the grid covers the
     * row's range, see the class comment), so truncating {@code v/s + z + 1/2} toward zero is that
     * rounding and no lower clamp is needed. This form runs about twice as fast as rounding
     * {@code v/s} by its own sign (no copySign, one clamp); the two differ only at exact negative
     * ties of {@code v/s}, which it rounds up.
     */
    private static int code(float v, float inv, float shift, int levels) {
        return Math.min(levels, (int) (v * inv + shift));
    }

    /** Fills {@code lut[0, 2^bits)} with the reconstruction {@code s * (q - z)} of each code. */
    static void fillLookup(float[] lut, float scale, int zero, int bits) {
        int n = 1 << bits;
        for (int q = 0; q < n; q++) {
            lut[q] = scale * (q - zero);
        }
    }
}
