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
 * Atom-style W4A4 (Zhao et al. 2024) on the fp32 model. At every linear input the
 * {@code outliers} channels with the largest calibrated max |x| are kept at int8 and the
 * others quantized at 4 bits in groups ({@link AtomFormat}); each matrix's columns follow the
 * same split: outlier columns int8 per output row, the other columns 4-bit symmetric per row
 * and group (round-to-nearest; Atom itself uses GPTQ for weights). Defaults for this d = 288
 * model: 32 outlier channels at every input (of 288 or of 768) and groups of 128, which tile
 * the 256 normal channels of a 288-wide input exactly (2 groups) and leave a last group of 96
 * of the 736 normal channels of the 768-wide W2 input. Embedding, final norm and classifier
 * stay fp32. The hidden state at the cut travels in the same format, with the outlier
 * channels calibrated at that split layer.
 */
public final class AtomBaseline {
    public static final int DEFAULT_OUTLIERS = 32;
    public static final int DEFAULT_GROUP = 128;

    private AtomBaseline() {}

    public static Baseline build(ModelWeights fp32, Calibration cal, int outliers, int group, Kernels kernels, ThreadTeam team) {
        int layers = fp32.config().nLayers();
        ActivationQuantizer.Site[] sites = ActivationQuantizer.Site.values();
        AtomFormat[][] formats = new AtomFormat[layers][sites.length];
        LayerWeights[] out = new LayerWeights[layers];
        for (int l = 0; l < layers; l++) {
            for (ActivationQuantizer.Site s : sites) {
                formats[l][s.ordinal()] = new AtomFormat(cal.sites().channelMax(l, s), outliers, group);
            }
            LayerWeights w = fp32.layer(l);
            AtomFormat qkv = formats[l][ActivationQuantizer.Site.ATTN_QKV.ordinal()];
            AtomFormat ao = formats[l][ActivationQuantizer.Site.ATTN_OUT.ordinal()];
            AtomFormat up = formats[l][ActivationQuantizer.Site.FFN_UP.ordinal()];
            AtomFormat down = formats[l][ActivationQuantizer.Site.FFN_DOWN.ordinal()];
            out[l] = new LayerWeights(w.rmsAtt(), w4(w.wq(), qkv), w4(w.wk(), qkv), w4(w.wv(), qkv), w4(w.wo(), ao),
                    w.rmsFfn(), w4(w.w1(), up), w4(w.w2(), down), w4(w.w3(), up));
        }
        ModelWeights q = new ModelWeights(fp32.config(), fp32.slice(), fp32.tokenEmbedding(), out, fp32.rmsFinal(),
                fp32.classifier());
        ActivationQuantizer hook = (layer, site, x, tokens, width) -> formats[layer][site.ordinal()].apply(x, tokens, width);
        ModelVariant variant = new ModelVariant("atom-w4a4", new HookedTransformer(q, kernels, team, hook));
        String desc = "Atom W4A4: " + outliers + " int8 outlier channels per linear input (by calibrated max |x|), the rest "
                + "4-bit in groups of " + group + " (asymmetric per token and group); weights int8 on outlier columns, "
                + "4-bit symmetric RTN per row and group elsewhere; calibrated on " + cal.tokens() + " tokens; "
                + "cut in the same format with outliers calibrated at the split layer";
        return new Baseline("atom-w4a4", desc, variant,
                split -> new RowFormatWire("atom-a4", new AtomFormat(cal.cutMax(split), outliers, group)));
    }

    /** The matrix with its columns quantized as the input format says (fp32 copy). */
    static WeightMatrix w4(WeightMatrix m, AtomFormat f) {
        float[] a = SmoothQuantBaseline.copy(m);
        int cols = m.cols();
        int[] outl = f.outlierChannels();
        int[] norm = f.normalChannels();
        for (int r = 0; r < m.rows(); r++) {
            int off = r * cols;
            if (outl.length > 0) {
                FakeQuant.symmetric(a, off, outl, 0, outl.length, 8);
            }
            for (int g = 0; g < norm.length; g += f.group()) {
                FakeQuant.symmetric(a, off, norm, g, Math.min(f.group(), norm.length - g), 4);
            }
        }
        return new F32Matrix(a, m.rows(), cols);
    }
}
