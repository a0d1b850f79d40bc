package dev.splitllm.engine.forward;

import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.SlidingWindow;

/**
 * Everything that changes while a layer range [firstLayer, endLayer) runs: its KV cache and
 * the number of positions filled. An edge half and a cloud half each own one, for their own
 * layers only. The cache is allocated for {@code capacity} positions up front so its memory is
 * known (and accounted) before generation starts.
 */
public final class SegmentState {
    private final int firstLayer;
    private final int endLayer;
    private final int kvDim;
    private final int capacity;
    /** Rows per block: the capacity, or fewer with a sliding window (a ring: position p at row p % rows). */
    final int rows;
    final int window;
    /** keys[l - firstLayer][(pos % rows) * kvDim + i] */
    final float[][] keys;
    final float[][] values;
    private int length;
    final Scratch scratch = new Scratch();

    public SegmentState(LlamaConfig config, int firstLayer, int endLayer, int capacity) {
        if (firstLayer < 0 || endLayer < firstLayer || endLayer > config.nLayers()) {
            throw new IllegalArgumentException("invalid layer range [" + firstLayer + ", " + endLayer + ") for "
                    + config.nLayers() + " layers");
        }
        if (capacity <= 0 || capacity > config.seqLen()) {
            throw new IllegalArgumentException("KV capacity must be in [1, " + config.seqLen() + "], got " + capacity);
        }
        this.firstLayer = firstLayer;
        this.endLayer = endLayer;
        this.kvDim = config.kvDim();
        this.capacity = capacity;
        this.rows = SlidingWindow.cacheRows(config, capacity);
        this.window = config.slidingWindow();
        int layers = endLayer - firstLayer;
        this.keys = new float[layers][];
        this.values = new float[layers][];
        for (int i = 0; i < layers; i++) {
            keys[i] = new float[rows * kvDim];
            values[i] = new float[rows * kvDim];
        }
    }

    public int firstLayer() {
        return firstLayer;
    }

    public int endLayer() {
        return endLayer;
    }

    /** Positions the cache can hold. */
    public int capacity() {
        return capacity;
    }

    /** Positions filled so far; the next token goes at this position. */
    public int length() {
        return length;
    }

    /**
     * Forgets positions from {@code newLength} on, e.g. to redo a step that was computed but
     * never acknowledged. Only shrinking is allowed.
     */
    public void truncate(int newLength) {
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("cannot truncate a cache of length " + length + " to " + newLength);
        }
        if (rows < capacity && length - newLength > rows - window) {
            // The ring has already overwritten positions the window at newLength would need.
            throw new IllegalArgumentException("cannot truncate a sliding-window cache by " + (length - newLength)
                    + " positions (at most " + (rows - window) + ")");
        }
        length = newLength;
    }

    /** Stores T rows of keys and values for positions [start, start+T) of block index li. */
    void store(int li, float[] k, float[] v, int start, int T) {
        store(li, k, v, 0, start, T);
    }

    /** As {@link #store(int, float[], float[], int, int)}, reading k and v from row {@code src} on (a batch of several states). */
    void store(int li, float[] k, float[] v, int src, int start, int T) {
        if (start + T <= rows) {
            System.arraycopy(k, src * kvDim, keys[li], start * kvDim, T * kvDim);
            System.arraycopy(v, src * kvDim, values[li], start * kvDim, T * kvDim);
            return;
        }
        for (int t = 0; t < T; t++) {
            int row = (start + t) % rows;
            System.arraycopy(k, (src + t) * kvDim, keys[li], row * kvDim, kvDim);
            System.arraycopy(v, (src + t) * kvDim, values[li], row * kvDim, kvDim);
        }
    }

    /**
     * Replaces the cached keys and values of positions [start, start+n) of {@code layer} with
     * {@code k} and {@code v} (n x kvDim each, row-major): the receiving end of a KV delta (a moved
     * cut, a restore). The positions must already be cached; the state's length does not change.
     */
    public void replaceRows(int layer, int start, int n, float[] k, float[] v) {
        if (layer < firstLayer || layer >= endLayer) {
            throw new IllegalArgumentException("layer " + layer + " is not held by this state [" + firstLayer + ", " + endLayer + ")");
        }
        if (start < 0 || n < 0 || start + n > length) {
            throw new IllegalArgumentException("positions [" + start + ", " + (start + n) + ") are not all cached (length " + length + ")");
        }
        if (k == null || v == null || k.length < n * kvDim || v.length < n * kvDim) {
            throw new IllegalArgumentException("need " + n + " x " + kvDim + " keys and values");
        }
        requireLinear(start + n);
        store(layer - firstLayer, k, v, start, n);
    }

    /** Keys and values of layers [from, to) for positions [0, positions), copied ({@link Segment#exportKv}). */
    public float[][][] export(int from, int to, int positions) {
        if (from < firstLayer || to > endLayer || from >= to) {
            throw new IllegalArgumentException("layers [" + from + ", " + to + ") are not within this state's [" + firstLayer
                    + ", " + endLayer + ")");
        }
        if (positions < 0 || positions > length) {
            throw new IllegalArgumentException("positions [0, " + positions + ") are not all cached (length " + length + ")");
        }
        requireLinear(positions);
        float[][][] kv = new float[2][to - from][];
        for (int l = from; l < to; l++) {
            kv[0][l - from] = java.util.Arrays.copyOf(keys[l - firstLayer], positions * kvDim);
            kv[1][l - from] = java.util.Arrays.copyOf(values[l - firstLayer], positions * kvDim);
        }
        return kv;
    }

    /** Fills layers [from, from + keys.length) for positions [0, positions) ({@link Segment#loadKv}). */
    public void load(int from, float[][] k, float[][] v, int positions) {
        if (k == null || v == null || k.length != v.length || from < firstLayer || from + k.length > endLayer) {
            throw new IllegalArgumentException("layers from " + from + " are not within this state's [" + firstLayer + ", "
                    + endLayer + ") or keys and values differ in layers");
        }
        if (positions < 0 || positions > capacity || (length != 0 && length != positions)) {
            throw new IllegalArgumentException("cannot load " + positions + " positions into a cache of length " + length
                    + " and capacity " + capacity);
        }
        requireLinear(positions);
        for (int i = 0; i < k.length; i++) {
            if (k[i] == null || v[i] == null || k[i].length < positions * kvDim || v[i].length < positions * kvDim) {
                throw new IllegalArgumentException("layer " + (from + i) + " needs " + positions + " x " + kvDim + " keys and values");
            }
        }
        for (int i = 0; i < k.length; i++) {
            System.arraycopy(k[i], 0, keys[from - firstLayer + i], 0, positions * kvDim);
            System.arraycopy(v[i], 0, values[from - firstLayer + i], 0, positions * kvDim);
        }
        length = positions;
    }

    /** KV rows per block (the capacity, or the ring size with a sliding window). */
    public int rows() {
        return rows;
    }

    void advance(int tokens) {
        length += tokens;
    }

    /** Bytes held by the KV cache (keys and values of every layer, full capacity). */
    public long kvBytes() {
        return 2L * (endLayer - firstLayer) * rows * kvDim * Float.BYTES;
    }

    /** Bytes of the work buffers currently allocated (they grow with the largest batch run). */
    public long scratchBytes() {
        return scratch.bytes();
    }

    /** Copies of one layer's cached keys and values for positions [0, length) (for tests and migration). */
    public float[] keysOf(int layer, int upTo) {
        requireLinear(upTo);
        return java.util.Arrays.copyOf(keys[layer - firstLayer], upTo * kvDim);
    }

    private void requireLinear(int upTo) {
        if (Math.max(upTo, length) > rows) {
            throw new IllegalStateException("a sliding-window cache holds only " + rows + " positions, not " + upTo);
        }
    }

    public float[] valuesOf(int layer, int upTo) {
        requireLinear(upTo);
        return java.util.Arrays.copyOf(values[layer - firstLayer], upTo * kvDim);
    }
}
