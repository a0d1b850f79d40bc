package dev.splitllm.cloud;

import dev.splitllm.quantization.kv.KvDelta;

/**
 * The cloud's copy of the edge's KV (docs/PROTOCOL.md, "Mirror"): layers [0, layers) for positions
 * [0, positions), filled by the SPKV frames the edge streams up its socket, in order. A hand-off or
 * a move toward the cloud then takes these positions from here and needs only the rest from the
 * edge. Sized for the session's maxSeqLen when the first frame arrives; the session reserves its
 * bytes against the KV budget before that.
 */
final class MirrorKv {
    private final int kvDim;
    private final float[][] keys;
    private final float[][] values;
    private int layers;
    private int positions;

    MirrorKv(int layers, int maxSeqLen, int kvDim) {
        this.kvDim = kvDim;
        this.layers = layers;
        this.keys = new float[layers][];
        this.values = new float[layers][];
        for (int l = 0; l < layers; l++) {
            keys[l] = new float[maxSeqLen * kvDim];
            values[l] = new float[maxSeqLen * kvDim];
        }
    }

    /** Layers [0, layers) the mirror holds. */
    int layers() {
        return layers;
    }

    /** Positions [0, positions) the mirror holds for every one of its layers. */
    int positions() {
        return positions;
    }

    /** Appends a decoded frame; the caller checked its layers are [0, layers) and it starts at {@link #positions}. */
    void append(KvDelta d) {
        int from = d.start() * kvDim, n = d.positions() * kvDim;
        for (int l = 0; l < layers; l++) {
            System.arraycopy(d.keys()[l], 0, keys[l], from, n);
            System.arraycopy(d.values()[l], 0, values[l], from, n);
        }
        positions = d.start() + d.positions();
    }

    /**
     * The rows of layers [first, end) for positions [0, p): the first {@link #positions} from here,
     * the rest from {@code tail} (rows [positions, p) of the same layers, or null when the mirror
     * holds all p).
     */
    float[][][] rows(int first, int end, int p, KvDelta tail) {
        float[][][] out = new float[2][end - first][];
        int held = positions * kvDim;
        for (int l = first; l < end; l++) {
            float[] k = new float[p * kvDim], v = new float[p * kvDim];
            System.arraycopy(keys[l], 0, k, 0, held);
            System.arraycopy(values[l], 0, v, 0, held);
            if (tail != null) {
                System.arraycopy(tail.keys()[l - first], 0, k, held, tail.positions() * kvDim);
                System.arraycopy(tail.values()[l - first], 0, v, held, tail.positions() * kvDim);
            }
            out[0][l - first] = k;
            out[1][l - first] = v;
        }
        return out;
    }

    /** Keeps layers [0, n) only (the cut moved toward the cloud: the edge holds fewer layers now). */
    void keepLayers(int n) {
        for (int l = n; l < layers; l++) {
            keys[l] = null;
            values[l] = null;
        }
        layers = n;
    }
}
