package dev.splitllm.quantization.codec;

import dev.splitllm.quantization.Half;

/**
 * Threshold splitting (TS) of one token row: every value with {@code |x| > tau} outside the
 * session channel set becomes an outlier (channel, fp16 value) and is zeroed in the dense
 * remainder, as are the session channels; the remainder goes to TAB-Q. On decode the outliers
 * overwrite the dequantized values at their channels.
 *
 * <p>Not thread-safe: holds the outliers of the last split row.
 */
final class ThresholdSplit {
    private int[] channels = new int[0];
    private short[] values = new short[0];
    private int count;
    private boolean statsValid;
    private float lo;
    private float hi;
    private double sumSquares;

    /**
     * Hands the remainder's range (0 included) and squared norm, measured during the last split,
     * to the quantizer. Returns false when they were not measured (session channels present) and
     * the quantizer must analyse the row itself.
     */
    boolean shareStats(TokenQuantizer quantizer) {
        return statsValid && quantizer.useStats(lo, hi, sumSquares);
    }

    /** Outliers of the last row. */
    int count() {
        return count;
    }

    /** Channel of outlier i (ascending). */
    int channel(int i) {
        return channels[i];
    }

    /** fp16 bits of outlier i. */
    short value(int i) {
        return values[i];
    }

    /**
     * Copies {@code x[offset, offset + d)} into {@code remainder[0, d)} with outliers and session
     * channels zeroed, and records the outliers in channel order. Without session channels it also
     * measures the remainder's range and squared norm on the way (see {@link #shareStats}).
     *
     * @param sessionMask session channels (length d), or null when there are none
     * @throws IllegalArgumentException when an outlier does not fit fp16
     */
    void split(float[] x, int offset, int d, float tau, boolean[] sessionMask, float[] remainder) {
        if (channels.length < d) {
            channels = new int[d];
            values = new short[d];
        }
        count = 0;
        statsValid = false;
        if (sessionMask != null) {
            for (int c = 0; c < d; c++) {
                remainder[c] = sessionMask[c] ? 0f : take(c, x[offset + c], tau);
            }
            return;
        }
        // Four lanes so the comparisons, the range and the sum of squares are not one long
        // dependency chain; the branch into take() is rare (outliers are a fraction of a percent).
        float min0 = 0f, min1 = 0f, max0 = 0f, max1 = 0f;
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int c = 0;
        for (; c + 3 < d; c += 4) {
            float a = x[offset + c], b = x[offset + c + 1], e = x[offset + c + 2], f = x[offset + c + 3];
            if (Math.abs(a) > tau | Math.abs(b) > tau | Math.abs(e) > tau | Math.abs(f) > tau) {
                a = take(c, a, tau);
                b = take(c + 1, b, tau);
                e = take(c + 2, e, tau);
                f = take(c + 3, f, tau);
            }
            remainder[c] = a;
            remainder[c + 1] = b;
            remainder[c + 2] = e;
            remainder[c + 3] = f;
            min0 = a < min0 ? a : min0;
            min1 = b < min1 ? b : min1;
            min0 = e < min0 ? e : min0;
            min1 = f < min1 ? f : min1;
            max0 = a > max0 ? a : max0;
            max1 = b > max1 ? b : max1;
            max0 = e > max0 ? e : max0;
            max1 = f > max1 ? f : max1;
            s0 += a * a;
            s1 += b * b;
            s2 += e * e;
            s3 += f * f;
        }
        for (; c < d; c++) {
            float a = take(c, x[offset + c], tau);
            remainder[c] = a;
            min0 = a < min0 ? a : min0;
            max0 = a > max0 ? a : max0;
            s0 += a * a;
        }
        lo = min0 < min1 ? min0 : min1;
        hi = max0 > max1 ? max0 : max1;
        sumSquares = ((double) s0 + s1) + ((double) s2 + s3);
        statsValid = true;
    }

    /** Records v as an outlier and returns 0 when |v| &gt; tau; returns v otherwise. */
    private float take(int c, float v, float tau) {
        if (!(Math.abs(v) > tau)) {
            return v;
        }
        short h = Half.fromFloat(v);
        if (!ScaleMath.finiteHalf(h)) {
            throw new IllegalArgumentException("activation " + v + " at channel " + c + " is outside the fp16 range");
        }
        channels[count] = c;
        values[count] = h;
        count++;
        return 0f;
    }
}
