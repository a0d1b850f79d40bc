package dev.splitllm.quantization.kv;

/**
 * The decoded contents of a KV delta frame: keys and values of layers [firstLayer, endLayer) for
 * positions [start, start + n), {@code keys[l - firstLayer][t * kvDim + i]} for position start + t.
 */
public final class KvDelta {
    private final KvSpec spec;
    private final long sessionTag;
    private final long epoch;
    private final int firstLayer;
    private final int endLayer;
    private final int start;
    private final int n;
    private final int kvDim;
    private final float[][] keys;
    private final float[][] values;

    KvDelta(KvSpec spec, long sessionTag, long epoch, int firstLayer, int endLayer, int start, int n, int kvDim,
            float[][] keys, float[][] values) {
        this.spec = spec;
        this.sessionTag = sessionTag;
        this.epoch = epoch;
        this.firstLayer = firstLayer;
        this.endLayer = endLayer;
        this.start = start;
        this.n = n;
        this.kvDim = kvDim;
        this.keys = keys;
        this.values = values;
    }

    public KvSpec spec() {
        return spec;
    }

    public long sessionTag() {
        return sessionTag;
    }

    public long epoch() {
        return epoch;
    }

    public int firstLayer() {
        return firstLayer;
    }

    public int endLayer() {
        return endLayer;
    }

    /** First position of the span. */
    public int start() {
        return start;
    }

    /** Positions in the span. */
    public int positions() {
        return n;
    }

    public int kvDim() {
        return kvDim;
    }

    /** Key rows, one array per layer of the range (the decoder's own arrays, not copies). */
    public float[][] keys() {
        return keys;
    }

    /** Value rows, one array per layer of the range. */
    public float[][] values() {
        return values;
    }
}
