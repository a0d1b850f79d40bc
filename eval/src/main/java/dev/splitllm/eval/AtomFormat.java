package dev.splitllm.eval;

import java.util.Arrays;

/**
 * Atom's mixed-precision activation layout for one input width: the {@code outliers} channels
 * with the largest calibrated magnitude are reordered to the end and kept at int8 (symmetric,
 * one fp16 scale per token); the other channels, in their original order, are quantized in
 * groups of {@code group} consecutive channels at 4 bits (asymmetric min-max per token and
 * group, fp16 scale and 8-bit zero point). The last group is shorter when the normal channels
 * do not fill it.
 */
public final class AtomFormat implements RowQuantizer {
    /** Activation bits of the normal channels. */
    public static final int LOW_BITS = 4;

    private final int width;
    private final int[] outlierIdx;
    private final int[] normalIdx;
    private final int group;

    /** Picks the {@code outliers} channels of largest {@code channelMax}. */
    public AtomFormat(float[] channelMax, int outliers, int group) {
        int w = channelMax.length;
        if (outliers < 0 || outliers >= w || group < 1) {
            throw new IllegalArgumentException("need 0 <= outliers < width and group >= 1, got " + outliers + ", " + group + " for width " + w);
        }
        Integer[] order = new Integer[w];
        for (int i = 0; i < w; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(channelMax[b], channelMax[a]));
        boolean[] out = new boolean[w];
        for (int i = 0; i < outliers; i++) {
            out[order[i]] = true;
        }
        this.width = w;
        this.group = group;
        this.outlierIdx = new int[outliers];
        this.normalIdx = new int[w - outliers];
        int o = 0, n = 0;
        for (int c = 0; c < w; c++) {
            if (out[c]) {
                outlierIdx[o++] = c;
            } else {
                normalIdx[n++] = c;
            }
        }
    }

    /** Channels kept at int8, ascending. */
    public int[] outlierChannels() {
        return outlierIdx.clone();
    }

    /** Channels quantized at 4 bits, ascending (groups are consecutive runs of this list). */
    public int[] normalChannels() {
        return normalIdx.clone();
    }

    public int group() {
        return group;
    }

    @Override
    public void apply(float[] x, int tokens, int w) {
        if (w != width) {
            throw new IllegalArgumentException("format is for width " + width + ", got " + w);
        }
        for (int t = 0; t < tokens; t++) {
            int off = t * w;
            if (outlierIdx.length > 0) {
                FakeQuant.symmetric(x, off, outlierIdx, 0, outlierIdx.length, 8);
            }
            for (int g = 0; g < normalIdx.length; g += group) {
                FakeQuant.asymmetric(x, off, normalIdx, g, Math.min(group, normalIdx.length - g), LOW_BITS);
            }
        }
    }

    @Override
    public long bitsPerRow(int w) {
        long groups = (normalIdx.length + group - 1) / group;
        return 8L * outlierIdx.length + (outlierIdx.length > 0 ? 16 : 0) + (long) LOW_BITS * normalIdx.length + groups * 24;
    }
}
