package dev.splitllm.quantization.codec;

import dev.splitllm.quantization.Half;

/**
 * Group-wise scales inside a TAB-Q row ({@code group=G}): the row is cut into groups of G
 * consecutive values (the last may be shorter), each quantized symmetrically with its own scale,
 * so one large group no longer stretches the grid of the others (what makes Q8_0's per-32 scales
 * beat a per-token range).
 *
 * <p>Side information stays small: one fp16 base scale S per token (the largest group scale,
 * rounded up) and one u8 k per group, the group scale being {@code s_g = S·(k+1)/256} (an 8-bit
 * linear fraction of S; computed as {@code (S·(k+1))·2^-8} in float on both sides). With
 * H = 2^(b−1) − 1 the code of a value is {@code q = clamp(round(r/s_g), −H, H) + H}, rounding the
 * non-negative shifted value half away from zero as {@link TokenQuantizer} does; decoding gives
 * {@code s_g·(q − H)}. k is the smallest with {@code s_g·H ≥ max|r|} over the group, so every
 * value is within s_g/2 of its reconstruction. Needs b ≥ 2.
 *
 * <p>Not thread-safe: holds the codes and group scales of the last quantized row.
 */
final class GroupQuantizer {
    private static final float INV_256 = 1f / 256f;

    private final int group;
    private byte[] codes = new byte[0];
    private byte[] groupCodes = new byte[0];
    private float[] groupMax = new float[0];
    private double sumSquares;
    private float rowMax;
    private short scaleHalf;

    GroupQuantizer(int group) {
        if (group < 1) {
            throw new IllegalArgumentException("group size must be >= 1");
        }
        this.group = group;
    }

    int group() {
        return group;
    }

    /** Groups in a row of d values. */
    static int groups(int d, int group) {
        return (d + group - 1) / group;
    }

    byte[] codes() {
        return codes;
    }

    /** The u8 k of each group of the last row. */
    byte[] groupCodes() {
        return groupCodes;
    }

    short scaleHalf() {
        return scaleHalf;
    }

    double sumSquares() {
        return sumSquares;
    }

    /** Measures max |r| per group and ||r||²; false when the row is not finite. */
    boolean analyse(float[] r, int d) {
        int n = groups(d, group);
        if (codes.length < d) {
            codes = new byte[d];
        }
        if (groupMax.length < n) {
            groupMax = new float[n];
            groupCodes = new byte[n];
        }
        double sum = 0;
        float top = 0f;
        for (int g = 0; g < n; g++) {
            int start = g * group, end = Math.min(d, start + group);
            float m0 = 0f, m1 = 0f, s0 = 0f, s1 = 0f;
            int i = start;
            for (; i + 1 < end; i += 2) {
                float a = Math.abs(r[i]), b = Math.abs(r[i + 1]);
                m0 = a > m0 ? a : m0;
                m1 = b > m1 ? b : m1;
                s0 += a * a;
                s1 += b * b;
            }
            if (i < end) {
                float a = Math.abs(r[i]);
                m0 = a > m0 ? a : m0;
                s0 += a * a;
            }
            float m = m0 > m1 ? m0 : m1;
            groupMax[g] = m;
            top = m > top ? m : top;
            sum += (double) s0 + s1;
        }
        rowMax = top;
        sumSquares = sum;
        return Double.isFinite(sum);
    }

    /**
     * Quantizes the analysed row at b bits (b ≥ 2); false, possibly early, once the squared error
     * passes {@code errorBudget}.
     *
     * @throws IllegalArgumentException when the base scale does not fit fp16
     */
    boolean quantize(float[] r, int d, int b, double errorBudget) {
        int half = (1 << (b - 1)) - 1;
        int n = groups(d, group);
        byte[] q = codes;
        if (rowMax == 0f) {
            scaleHalf = 0;
            java.util.Arrays.fill(groupCodes, 0, n, (byte) 0);
            java.util.Arrays.fill(q, 0, d, (byte) half);
            return true;
        }
        scaleHalf = ScaleMath.fp16Ceil(rowMax / half);
        float base = Half.toFloat(scaleHalf);
        double error = 0;
        int top = 2 * half;
        float shift = half + 0.5f;
        for (int g = 0; g < n; g++) {
            int start = g * group, end = Math.min(d, start + group);
            float need = groupMax[g] / half;
            int k = Math.max(0, Math.min(255, (int) Math.ceil(need / base * 256f) - 1));
            float s = groupScale(base, k);
            while (s < need && k < 255) { // float rounding: make sure the grid covers the group
                s = groupScale(base, ++k);
            }
            groupCodes[g] = (byte) k;
            if (s == 0f) {
                java.util.Arrays.fill(q, start, end, (byte) half);
                continue;
            }
            float inv = 1f / s;
            float e0 = 0f, e1 = 0f;
            int i = start;
            for (; i + 1 < end; i += 2) {
                int c0 = Math.min(top, (int) (r[i] * inv + shift));
                int c1 = Math.min(top, (int) (r[i + 1] * inv + shift));
                q[i] = (byte) c0;
                q[i + 1] = (byte) c1;
                float d0 = r[i] - s * (c0 - half);
                float d1 = r[i + 1] - s * (c1 - half);
                e0 += d0 * d0;
                e1 += d1 * d1;
            }
            if (i < end) {
                int c0 = Math.min(top, (int) (r[i] * inv + shift));
                q[i] = (byte) c0;
                float d0 = r[i] - s * (c0 - half);
                e0 += d0 * d0;
            }
            error += (double) e0 + e1;
            if (error > errorBudget) {
                return false;
            }
        }
        return true;
    }

    /** {@code s_g} from the base scale and the group's u8 k; the decoder computes it the same way. */
    static float groupScale(float base, int k) {
        return base * (k + 1) * INV_256;
    }
}
