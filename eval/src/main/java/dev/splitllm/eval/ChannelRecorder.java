package dev.splitllm.eval;

import dev.splitllm.engine.forward.ActivationQuantizer;

/**
 * A read-only {@link ActivationQuantizer}: records the largest |x| of every input channel at
 * every (block, site) it sees. The calibration pass of the SmoothQuant and Atom baselines.
 */
public final class ChannelRecorder implements ActivationQuantizer {
    private final float[][][] max; // [layer][site][channel]

    public ChannelRecorder(int layers) {
        if (layers < 1) {
            throw new IllegalArgumentException("layers must be >= 1");
        }
        max = new float[layers][Site.values().length][];
    }

    @Override
    public void apply(int layer, Site site, float[] x, int tokens, int width) {
        float[] m = max[layer][site.ordinal()];
        if (m == null) {
            m = max[layer][site.ordinal()] = new float[width];
        }
        for (int t = 0; t < tokens; t++) {
            int off = t * width;
            for (int c = 0; c < width; c++) {
                float a = Math.abs(x[off + c]);
                if (a > m[c]) {
                    m[c] = a;
                }
            }
        }
    }

    /** max |x| per channel at the site's input of block {@code layer}; throws if never seen. */
    public float[] channelMax(int layer, Site site) {
        float[] m = max[layer][site.ordinal()];
        if (m == null) {
            throw new IllegalStateException("no calibration data for layer " + layer + " " + site);
        }
        return m.clone();
    }

    /** Per-channel max |x| of rows of a hidden-state array (for the cut). */
    public static float[] channelMax(float[] x, int tokens, int width) {
        float[] m = new float[width];
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < width; c++) {
                m[c] = Math.max(m[c], Math.abs(x[t * width + c]));
            }
        }
        return m;
    }
}
