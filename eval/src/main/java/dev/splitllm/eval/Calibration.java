package dev.splitllm.eval;

import dev.splitllm.engine.forward.HookedTransformer;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.ModelWeights;
import java.util.List;

/**
 * One calibration pass of the fp32 model over calibration text windows, collecting what the
 * baselines and the codec need: per-channel max |x| at every linear input (SmoothQuant, Atom),
 * per-channel max |x| of the hidden state at every split layer (Atom's format at the cut), and
 * the |x| distribution at every split layer (TS threshold, {@link TauCalibrator}).
 */
public final class Calibration {
    private final ChannelRecorder sites;
    private final float[][] cutMax;
    private final TauCalibrator tau;
    private final long tokens;
    private final float[][] hidden; // [split layer][token * d + c], the first MAX_HIDDEN_TOKENS tokens
    private final int hiddenTokens;

    /** Calibration rows kept per split layer for the codec tables (mean, rANS frequencies). */
    public static final int MAX_HIDDEN_TOKENS = 4096;

    private Calibration(ChannelRecorder sites, float[][] cutMax, TauCalibrator tau, long tokens, float[][] hidden, int hiddenTokens) {
        this.sites = sites;
        this.cutMax = cutMax;
        this.tau = tau;
        this.tokens = tokens;
        this.hidden = hidden;
        this.hiddenTokens = hiddenTokens;
    }

    /** Runs {@code windows} through the fp32 {@code weights}. */
    public static Calibration collect(ModelWeights weights, Kernels kernels, ThreadTeam team, List<int[]> windows) {
        if (windows.isEmpty()) {
            throw new IllegalArgumentException("no calibration windows");
        }
        int layers = weights.config().nLayers(), d = weights.config().dim();
        ChannelRecorder rec = new ChannelRecorder(layers);
        Transformer tf = new HookedTransformer(weights, kernels, team, rec);
        TauCalibrator tau = new TauCalibrator(layers);
        float[][] cut = new float[layers + 1][d];
        long tokens = 0;
        int keep = (int) Math.min(MAX_HIDDEN_TOKENS, windows.stream().mapToLong(w -> w.length).sum());
        float[][] rows = new float[layers + 1][keep * d];
        int kept = 0;
        for (int[] w : windows) {
            float[][] h = ResidualCapture.afterEachBlock(tf, w);
            int take = Math.min(w.length, keep - kept);
            for (int l = 0; l <= layers && take > 0; l++) {
                System.arraycopy(h[l], 0, rows[l], kept * d, take * d);
            }
            kept += take;
            tau.add(h);
            for (int l = 0; l <= layers; l++) {
                float[] m = ChannelRecorder.channelMax(h[l], w.length, d);
                for (int c = 0; c < d; c++) {
                    cut[l][c] = Math.max(cut[l][c], m[c]);
                }
            }
            tokens += w.length;
        }
        return new Calibration(rec, cut, tau, tokens, rows, kept);
    }

    /** Per-channel max |x| at the linear inputs. */
    public ChannelRecorder sites() {
        return sites;
    }

    /** Per-channel max |x| of the hidden state after {@code split} blocks. */
    public float[] cutMax(int split) {
        return cutMax[split].clone();
    }

    public TauCalibrator tau() {
        return tau;
    }

    /** The hidden states after {@code split} blocks on the calibration text, {@link #hiddenTokens()} rows of d (not a copy). */
    public float[] hidden(int split) {
        return hidden[split];
    }

    /** Rows in {@link #hidden}. */
    public int hiddenTokens() {
        return hiddenTokens;
    }

    /** Calibration tokens seen. */
    public long tokens() {
        return tokens;
    }
}
