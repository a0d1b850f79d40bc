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

    private Calibration(ChannelRecorder sites, float[][] cutMax, TauCalibrator tau, long tokens) {
        this.sites = sites;
        this.cutMax = cutMax;
        this.tau = tau;
        this.tokens = tokens;
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
        for (int[] w : windows) {
            float[][] h = ResidualCapture.afterEachBlock(tf, w);
            tau.add(h);
            for (int l = 0; l <= layers; l++) {
                float[] m = ChannelRecorder.channelMax(h[l], w.length, d);
                for (int c = 0; c < d; c++) {
                    cut[l][c] = Math.max(cut[l][c], m[c]);
                }
            }
            tokens += w.length;
        }
        return new Calibration(rec, cut, tau, tokens);
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

    /** Calibration tokens seen. */
    public long tokens() {
        return tokens;
    }
}
