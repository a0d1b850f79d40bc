package dev.splitllm.eval;

import dev.splitllm.engine.forward.ActivationQuantizer;
import dev.splitllm.engine.forward.HookedTransformer;
import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tensor.F32Matrix;
import dev.splitllm.engine.tensor.WeightMatrix;

/**
 * SmoothQuant-style W8A8 (Xiao et al. 2023) on the fp32 model. For the two linear inputs that
 * follow an RMSNorm (Wq/Wk/Wv and W1/W3) per-input-channel smoothing factors
 * {@code s_j = max|X_j|^alpha / max|W_j|^(1-alpha)} (alpha = 0.5; X from calibration, W over
 * every matrix reading that input) are folded into the norm weight ({@code g_j / s_j}) and the
 * matrices' columns ({@code W[:, j] * s_j}). Then every block matrix is quantized to int8 per
 * output channel (symmetric absmax, fp16 scale) and every linear input (all four sites) to
 * int8 per token. The Wo and W2 inputs have no norm to fold into and are not smoothed. The
 * token embedding, final norm and classifier stay fp32. The hidden state at the cut travels
 * in the same per-token int8 format (8 + 16/d bits per element).
 */
public final class SmoothQuantBaseline {
    /** SmoothQuant's usual migration strength. */
    public static final double DEFAULT_ALPHA = 0.5;

    private SmoothQuantBaseline() {}

    public static Baseline build(ModelWeights fp32, Calibration cal, double alpha, Kernels kernels, ThreadTeam team) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        }
        int layers = fp32.config().nLayers();
        LayerWeights[] out = new LayerWeights[layers];
        for (int l = 0; l < layers; l++) {
            LayerWeights w = fp32.layer(l);
            float[][] qkv = {copy(w.wq()), copy(w.wk()), copy(w.wv())};
            float[] rmsAtt = smooth(w.rmsAtt(), cal.sites().channelMax(l, ActivationQuantizer.Site.ATTN_QKV), qkv,
                    w.wq().cols(), alpha);
            float[][] up = {copy(w.w1()), copy(w.w3())};
            float[] rmsFfn = smooth(w.rmsFfn(), cal.sites().channelMax(l, ActivationQuantizer.Site.FFN_UP), up,
                    w.w1().cols(), alpha);
            out[l] = new LayerWeights(rmsAtt,
                    int8Rows(qkv[0], w.wq()), int8Rows(qkv[1], w.wk()), int8Rows(qkv[2], w.wv()),
                    int8Rows(copy(w.wo()), w.wo()),
                    rmsFfn,
                    int8Rows(up[0], w.w1()), int8Rows(copy(w.w2()), w.w2()), int8Rows(up[1], w.w3()));
        }
        ModelWeights q = new ModelWeights(fp32.config(), fp32.slice(), fp32.tokenEmbedding(), out, fp32.rmsFinal(),
                fp32.classifier());
        PerTokenInt8 a8 = new PerTokenInt8();
        ActivationQuantizer hook = (layer, site, x, tokens, width) -> a8.apply(x, tokens, width);
        ModelVariant variant = new ModelVariant("smoothquant-w8a8", new HookedTransformer(q, kernels, team, hook));
        String desc = "SmoothQuant W8A8: alpha " + alpha + ", smoothing folded into RMSNorm + Wq/Wk/Wv and W1/W3 columns, "
                + "int8 per-output-channel weights, int8 per-token activations at every linear input, "
                + "calibrated on " + cal.tokens() + " tokens; cut in per-token int8";
        return new Baseline("smoothquant-w8a8", desc, variant, split -> new RowFormatWire("a8-per-token", a8));
    }

    /** Smoothing factors from activation and weight column maxima; rescales mats' columns in place, returns the new norm weight. */
    static float[] smooth(float[] norm, float[] xMax, float[][] mats, int cols, double alpha) {
        float[] wMax = new float[cols];
        for (float[] m : mats) {
            for (int i = 0; i < m.length; i++) {
                int c = i % cols;
                wMax[c] = Math.max(wMax[c], Math.abs(m[i]));
            }
        }
        float[] s = new float[cols];
        for (int j = 0; j < cols; j++) {
            double v = (xMax[j] > 0 && wMax[j] > 0) ? Math.pow(xMax[j], alpha) / Math.pow(wMax[j], 1 - alpha) : 1.0;
            s[j] = (float) Math.max(1e-5, Math.min(1e5, v));
        }
        for (float[] m : mats) {
            for (int i = 0; i < m.length; i++) {
                m[i] *= s[i % cols];
            }
        }
        float[] g = new float[cols];
        for (int j = 0; j < cols; j++) {
            g[j] = norm[j] / s[j];
        }
        return g;
    }

    /** Dequantized fp32 copy of a matrix. */
    static float[] copy(WeightMatrix m) {
        float[] a = new float[m.rows() * m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.readRow(r, a, r * m.cols());
        }
        return a;
    }

    private static WeightMatrix int8Rows(float[] a, WeightMatrix shape) {
        int cols = shape.cols();
        for (int r = 0; r < shape.rows(); r++) {
            FakeQuant.symmetric(a, r * cols, cols, 8);
        }
        return new F32Matrix(a, shape.rows(), cols);
    }
}
