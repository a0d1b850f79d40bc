package dev.splitllm.engine.forward;

import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.RopeScaling;

/**
 * The cos/sin tables of rotary position embeddings for one model, with its {@link RopeScaling}
 * applied the way llama.cpp's {@code ggml_rope_ext} does: the angle of pair j at position p is
 * {@code p * theta^(-2j/headSize) / freqFactor[j]}, interpolated (linear: times 1/factor; YaRN:
 * a per-pair blend of interpolated and original angles), and cos/sin are scaled by the
 * magnitude factor (YaRN's {@code 1 + 0.1 ln(factor)} times {@code attn_factor}).
 */
final class RopeTable {
    /** Unscaled angle per position of each pair (theta^(-2j/hs) / freqFactor[j]). */
    private final double[] extrapolated;
    /** Weight of the unscaled angle per pair: 0 = fully interpolated, 1 = unchanged. */
    private final double[] keep;
    /** Factor on angles being interpolated: 1/factor for linear and YaRN, 1 without scaling. */
    private final double interpolation;
    private final float magnitude;

    RopeTable(LlamaConfig c) {
        int hs = c.headSize(), half = hs / 2;
        RopeScaling s = c.ropeScaling();
        extrapolated = new double[half];
        keep = new double[half];
        for (int j = 0; j < half; j++) {
            double ff = s.freqFactors() != null ? s.freqFactors()[j] : 1.0;
            extrapolated[j] = Math.pow(c.ropeTheta(), -(2.0 * j) / hs) / ff;
        }
        double mag = s.attnFactor();
        switch (s.type()) {
            case LINEAR:
                interpolation = 1.0 / s.factor();
                break;
            case YARN: {
                interpolation = 1.0 / s.factor();
                // Correction range in pair indices (ggml_rope_yarn_corr_dims), then a linear ramp.
                double low = Math.max(0, Math.floor(corrDim(hs, s.originalContext(), s.betaFast(), c.ropeTheta())));
                double high = Math.min(hs - 1, Math.ceil(corrDim(hs, s.originalContext(), s.betaSlow(), c.ropeTheta())));
                for (int j = 0; j < half; j++) {
                    double y = (j - low) / Math.max(0.001, high - low);
                    keep[j] = 1 - Math.min(1, Math.max(0, y));
                }
                if (s.factor() > 1) {
                    mag *= 1 + 0.1 * Math.log(s.factor());
                }
                break;
            }
            default:
                interpolation = 1.0;
        }
        magnitude = (float) mag;
    }

    private static double corrDim(int dims, int ctxOrig, double rotations, double base) {
        return dims * Math.log(ctxOrig / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    /** Fills cos and sin (T x headSize/2) for positions [start, start+T). */
    void fill(float[] cos, float[] sin, int start, int T) {
        fill(cos, sin, 0, start, T);
    }

    /** As {@link #fill(float[], float[], int, int)}, writing table rows from {@code row} on (a batch of several states). */
    void fill(float[] cos, float[] sin, int row, int start, int T) {
        int half = extrapolated.length;
        for (int t = 0; t < T; t++) {
            int pos = start + t, o = (row + t) * half;
            for (int j = 0; j < half; j++) {
                double ext = pos * extrapolated[j];
                double angle = ext * interpolation * (1 - keep[j]) + ext * keep[j];
                cos[o + j] = (float) Math.cos(angle) * magnitude;
                sin[o + j] = (float) Math.sin(angle) * magnitude;
            }
        }
    }
}
