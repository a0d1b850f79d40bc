package dev.splitllm.eval;

import dev.splitllm.engine.forward.Transformer;
import java.util.Arrays;
import java.util.List;

/**
 * Calibrates the threshold-splitting threshold tau per split layer: a percentile (default
 * 99.9) of |x| over every element of the hidden states at the cut, on calibration text.
 * Percentiles use the nearest-rank rule on the sorted magnitudes. Feed it hidden states with
 * {@link #add} (or use {@link #collect}), then ask {@link #tau}.
 */
public final class TauCalibrator {
    /** The design's default percentile. */
    public static final double DEFAULT_PERCENTILE = 99.9;
    /** Most magnitudes kept per split layer; later ones are ignored. */
    public static final int MAX_ELEMENTS = 1 << 23;

    private final float[][] magnitudes; // [split layer][|x|]
    private final int[] counts;
    private boolean sorted;

    /** An empty calibrator for split layers 0..layers. */
    public TauCalibrator(int layers) {
        if (layers < 1) {
            throw new IllegalArgumentException("layers must be >= 1");
        }
        magnitudes = new float[layers + 1][1 << 16];
        counts = new int[layers + 1];
    }

    /** Runs the windows through the model and collects |x| at every split layer. */
    public static TauCalibrator collect(Transformer tf, List<int[]> windows) {
        TauCalibrator c = new TauCalibrator(tf.config().nLayers());
        for (int[] w : windows) {
            c.add(ResidualCapture.afterEachBlock(tf, w));
        }
        return c;
    }

    /** Adds the magnitudes of {@code hidden[l]} for every split layer l (as from {@link ResidualCapture}). */
    public void add(float[][] hidden) {
        if (hidden.length != magnitudes.length) {
            throw new IllegalArgumentException("expected " + magnitudes.length + " layers of hidden states, got " + hidden.length);
        }
        for (int l = 0; l < hidden.length; l++) {
            for (float v : hidden[l]) {
                if (counts[l] == MAX_ELEMENTS) {
                    break;
                }
                if (counts[l] == magnitudes[l].length) {
                    magnitudes[l] = Arrays.copyOf(magnitudes[l], Math.min(MAX_ELEMENTS, magnitudes[l].length * 2));
                }
                magnitudes[l][counts[l]++] = Math.abs(v);
            }
        }
        sorted = false;
    }

    /** The {@code percentile}-th percentile (0 < p < 100) of |x| at split layer {@code split}. */
    public float tau(int split, double percentile) {
        if (split < 0 || split >= magnitudes.length) {
            throw new IllegalArgumentException("split layer must be in 0.." + (magnitudes.length - 1) + ", got " + split);
        }
        if (!(percentile > 0 && percentile < 100)) {
            throw new IllegalArgumentException("percentile must be in (0, 100), got " + percentile);
        }
        sort();
        int n = counts[split];
        if (n == 0) {
            throw new IllegalStateException("no calibration data");
        }
        int rank = (int) Math.ceil(percentile / 100.0 * n - 1e-9) - 1; // nearest rank, robust to rounding
        return magnitudes[split][Math.max(0, Math.min(n - 1, rank))];
    }

    /** Largest |x| seen at the split layer. */
    public float max(int split) {
        sort();
        return magnitudes[split][counts[split] - 1];
    }

    /** Magnitudes collected per split layer. */
    public int samples() {
        return counts[0];
    }

    private void sort() {
        if (!sorted) {
            for (int l = 0; l < magnitudes.length; l++) {
                Arrays.sort(magnitudes[l], 0, counts[l]);
            }
            sorted = true;
        }
    }
}
