package dev.splitllm.quantization.codec;

/**
 * Entropy-coded uniform quantization of a TAB-Q row ({@code step}, needs {@code ans}): instead of
 * choosing among whole bit-widths (which overshoots the budget by up to a factor of 4 per width),
 * each token gets the step size its error budget asks for, on a grid of eighth-octaves, and the
 * signed codes go to the rANS coder, which spends bits only where the values are.
 *
 * <p>Step of index k (u8): {@code Δ = 2^((k − 128) / 8)}, as the float {@code 2^(⌊k/8⌋ − 16) ·
 * M[k mod 8]} with M the eighth-octave mantissas below (exact constants, so both sides agree bit
 * for bit). Code {@code q = clamp(round(r/Δ), −127, 127)} (the non-negative shifted value
 * {@code r/Δ + 128} rounded half away from zero), sent as the symbol {@code q + 128} (1..255);
 * decoded value {@code Δ·q}. The encoder starts from the largest k with
 * {@code d·Δ²/12 ≤ budget} (uniform-noise estimate), makes the grid cover max|r|
 * ({@code 127.5·Δ ≥ max|r|}), then checks the exact error and steps k down while it is above the
 * budget (never below the range limit). Side information: the one byte k.
 *
 * <p>Not thread-safe: holds the symbols of the last row.
 */
final class StepQuantizer {
    /** 2^(j/8) for j = 0..7, rounded to float. */
    private static final float[] MANTISSA = {
        1.0f, 1.0905077f, 1.1892071f, 1.2968396f, 1.4142135f, 1.5422108f, 1.6817929f, 1.8340081f};
    /** Δ for each k. */
    private static final float[] STEP = new float[256];

    static {
        for (int k = 0; k < 256; k++) {
            STEP[k] = Math.scalb(MANTISSA[k & 7], (k >> 3) - 16);
        }
    }

    private byte[] symbols = new byte[0];
    private int stepIndex;
    private double sumSquares;
    private float maxAbs;

    /** The step of index k. */
    static float step(int k) {
        return STEP[k];
    }

    byte[] symbols() {
        return symbols;
    }

    int stepIndex() {
        return stepIndex;
    }

    double sumSquares() {
        return sumSquares;
    }

    /** Measures ||r||² and max |r|; false when not finite. */
    boolean analyse(float[] r, int d) {
        if (symbols.length < d) {
            symbols = new byte[d];
        }
        double s = 0;
        float m0 = 0f, m1 = 0f;
        int i = 0;
        for (; i + 1 < d; i += 2) {
            float a = Math.abs(r[i]), b = Math.abs(r[i + 1]);
            m0 = a > m0 ? a : m0;
            m1 = b > m1 ? b : m1;
            s += (double) a * a + (double) b * b;
        }
        if (i < d) {
            float a = Math.abs(r[i]);
            m0 = a > m0 ? a : m0;
            s += (double) a * a;
        }
        maxAbs = m0 > m1 ? m0 : m1;
        sumSquares = s;
        return Double.isFinite(s) && Float.isFinite(maxAbs);
    }

    /** Quantizes the analysed row so that its squared error is at most {@code budget} where the range allows. */
    void quantize(float[] r, int d, double budget) {
        // Smallest k whose grid still covers the row: 127.5·Δ ≥ max|r|.
        int kMin = 0;
        while (kMin < 255 && 127.5f * STEP[kMin] < maxAbs) {
            kMin++;
        }
        int k = 255;
        double target = Math.sqrt(12.0 * budget / d);
        while (k > 0 && STEP[k] > target) {
            k--;
        }
        k = Math.max(k, kMin);
        while (true) {
            double error = code(r, d, STEP[k]);
            if (error <= budget || k == kMin) {
                break;
            }
            k--;
        }
        stepIndex = k;
    }

    /** Codes the row with step {@code s} into {@link #symbols}; returns the squared error. */
    private double code(float[] r, int d, float s) {
        float inv = 1f / s;
        byte[] out = symbols;
        float e0 = 0f, e1 = 0f;
        int i = 0;
        for (; i + 1 < d; i += 2) {
            int q0 = Math.max(1, Math.min(255, (int) (r[i] * inv + 128.5f)));
            int q1 = Math.max(1, Math.min(255, (int) (r[i + 1] * inv + 128.5f)));
            out[i] = (byte) q0;
            out[i + 1] = (byte) q1;
            float d0 = r[i] - s * (q0 - 128);
            float d1 = r[i + 1] - s * (q1 - 128);
            e0 += d0 * d0;
            e1 += d1 * d1;
        }
        if (i < d) {
            int q0 = Math.max(1, Math.min(255, (int) (r[i] * inv + 128.5f)));
            out[i] = (byte) q0;
            float d0 = r[i] - s * (q0 - 128);
            e0 += d0 * d0;
        }
        return (double) e0 + e1;
    }
}
