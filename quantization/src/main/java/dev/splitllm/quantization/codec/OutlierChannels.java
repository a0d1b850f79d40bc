package dev.splitllm.quantization.codec;

import java.util.Arrays;

/**
 * A per-session set of outlier channels: channels whose value travels at fp16 in every token of
 * the session, without a channel index, and is left out of the quantized remainder. Sent once in
 * a frame (normally the PREFILL frame) and referenced by later frames. Immutable; channels are
 * distinct and ascending.
 */
public final class OutlierChannels {
    /** Largest channel index a set may hold (indices travel as u16). */
    public static final int MAX_CHANNEL = 0xfffe;

    private static final OutlierChannels EMPTY = new OutlierChannels(new int[0]);

    private final int[] channels;

    private OutlierChannels(int[] channels) {
        this.channels = channels;
    }

    /** The empty set. */
    public static OutlierChannels empty() {
        return EMPTY;
    }

    /** A set of the given channels, which must be strictly ascending and within 0..{@link #MAX_CHANNEL}. */
    public static OutlierChannels of(int... channels) {
        int previous = -1;
        for (int c : channels) {
            if (c < 0 || c > MAX_CHANNEL) {
                throw new IllegalArgumentException("outlier channel " + c + " outside 0.." + MAX_CHANNEL);
            }
            if (c <= previous) {
                throw new IllegalArgumentException("outlier channels must be strictly ascending, got " + c + " after " + previous);
            }
            previous = c;
        }
        return channels.length == 0 ? EMPTY : new OutlierChannels(channels.clone());
    }

    /**
     * Selects the session's channels from the prefill activations: channel c joins when
     * {@code |x[t][c]| > tau} in at least half of the T tokens (rounded up; T = 1 takes every
     * channel above tau).
     */
    public static OutlierChannels select(float[] x, int tokens, int dim, float tau) {
        if (tokens < 1 || dim < 1 || (long) tokens * dim > x.length) {
            throw new IllegalArgumentException("need tokens, dim >= 1 and tokens*dim <= " + x.length + ", got " + tokens + "x" + dim);
        }
        if (!(tau > 0f)) {
            throw new IllegalArgumentException("tau must be > 0, got " + tau);
        }
        if (dim > MAX_CHANNEL + 1) {
            throw new IllegalArgumentException("dim " + dim + " above " + (MAX_CHANNEL + 1));
        }
        int[] hits = new int[dim];
        for (int t = 0; t < tokens; t++) {
            int base = t * dim;
            for (int c = 0; c < dim; c++) {
                if (Math.abs(x[base + c]) > tau) {
                    hits[c]++;
                }
            }
        }
        int needed = (tokens + 1) / 2;
        int n = 0;
        for (int c = 0; c < dim; c++) {
            if (hits[c] >= needed) {
                hits[n++] = c;
            }
        }
        return n == 0 ? EMPTY : new OutlierChannels(Arrays.copyOf(hits, n));
    }

    /** Number of channels. */
    public int size() {
        return channels.length;
    }

    /** The i-th channel, ascending. */
    public int channel(int i) {
        return channels[i];
    }

    /** The channels, ascending (a copy). */
    public int[] toArray() {
        return channels.clone();
    }

    /** True when every channel is below {@code dim}. */
    public boolean fits(int dim) {
        return channels.length == 0 || channels[channels.length - 1] < dim;
    }

    /** A membership mask of length {@code dim}; every channel must be below dim. */
    boolean[] mask(int dim) {
        boolean[] mask = new boolean[dim];
        for (int c : channels) {
            mask[c] = true;
        }
        return mask;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OutlierChannels && Arrays.equals(channels, ((OutlierChannels) o).channels);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(channels);
    }

    @Override
    public String toString() {
        return "OutlierChannels" + Arrays.toString(channels);
    }
}
