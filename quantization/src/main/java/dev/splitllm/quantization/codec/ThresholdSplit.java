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
     * channels zeroed, and records the outliers.
     *
     * @param sessionMask session channels (length d), or null when there are none
     * @throws IllegalArgumentException when an outlier does not fit fp16
     */
    void split(float[] x, int offset, int d, float tau, boolean[] sessionMask, float[] remainder) {
        if (channels.length < d) {
            channels = new int[d];
            values = new short[d];
        }
        int n = 0;
        for (int c = 0; c < d; c++) {
            float v = x[offset + c];
            // Rare branch: outliers are a fraction of a percent of the values.
            if (Math.abs(v) > tau && (sessionMask == null || !sessionMask[c])) {
                short h = Half.fromFloat(v);
                if (!ScaleMath.finiteHalf(h)) {
                    throw new IllegalArgumentException("activation " + v + " at channel " + c + " is outside the fp16 range");
                }
                channels[n] = c;
                values[n] = h;
                n++;
                v = 0f;
            }
            remainder[c] = v;
        }
        if (sessionMask != null) {
            for (int c = 0; c < d; c++) {
                if (sessionMask[c]) {
                    remainder[c] = 0f;
                }
            }
        }
        count = n;
    }
}
