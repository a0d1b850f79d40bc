package dev.splitllm.engine.model;

import java.util.Arrays;

/**
 * How RoPE frequencies are stretched beyond the training context, with llama.cpp's semantics
 * (GGUF {@code ARCH.rope.scaling.*} and the {@code rope_freqs} tensor):
 *
 * <ul>
 *   <li>{@link Type#LINEAR}: every angle divided by {@code factor} (position interpolation);</li>
 *   <li>{@link Type#YARN}: per-frequency blend of interpolated and original angles over the
 *       correction range set by {@code betaFast}/{@code betaSlow} and {@code originalContext},
 *       and cos/sin scaled by {@code 1 + 0.1 ln(factor)};</li>
 *   <li>{@code freqFactors} (Llama 3.1+ "llama3" rope type, stored as {@code rope_freqs.weight}):
 *       each pair's angle divided by its factor; combinable with any type.</li>
 * </ul>
 * {@code attnFactor} ({@code rope.scaling.attn_factor}, default 1) multiplies cos and sin.
 *
 * @param freqFactors one divisor per rotated pair (headSize / 2), or null
 */
public record RopeScaling(Type type, float factor, int originalContext, float betaFast, float betaSlow, float attnFactor,
                          float[] freqFactors) {

    /** The scaling types llama.cpp applies to Llama-family models. */
    public enum Type { NONE, LINEAR, YARN }

    /** Plain RoPE. */
    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1f, 0, 32f, 1f, 1f, null);

    public RopeScaling {
        if (type == null || !(factor > 0) || !(attnFactor > 0) || originalContext < 0) {
            throw new IllegalArgumentException("invalid RoPE scaling: type " + type + ", factor " + factor
                    + ", attn_factor " + attnFactor + ", original context " + originalContext);
        }
        if (type == Type.YARN && originalContext <= 0) {
            throw new IllegalArgumentException("YaRN needs the original context length");
        }
        if (freqFactors != null) {
            for (float f : freqFactors) {
                if (!(f > 0) || !Float.isFinite(f)) {
                    throw new IllegalArgumentException("RoPE frequency factors must be positive and finite, got " + f);
                }
            }
        }
    }

    /** True when angles or magnitudes differ from plain RoPE. */
    public boolean active() {
        return (type != Type.NONE && factor != 1f) || type == Type.YARN || freqFactors != null || attnFactor != 1f;
    }

    /** A copy with Llama 3 frequency factors. */
    public RopeScaling withFreqFactors(float[] ff) {
        return new RopeScaling(type, factor, originalContext, betaFast, betaSlow, attnFactor, ff);
    }

    /**
     * The Llama 3 ("llama3" rope_type) frequency divisors, as Hugging Face computes them and
     * llama.cpp's converter stores them in {@code rope_freqs.weight}: wavelengths shorter than
     * {@code originalContext / highFreqFactor} are kept (1), longer than
     * {@code originalContext / lowFreqFactor} divided by {@code factor}, smoothly in between.
     */
    public static float[] llama3Factors(double theta, int headSize, double factor, double lowFreqFactor,
                                        double highFreqFactor, int originalContext) {
        float[] out = new float[headSize / 2];
        double lowWavelen = originalContext / lowFreqFactor, highWavelen = originalContext / highFreqFactor;
        for (int j = 0; j < out.length; j++) {
            double freq = 1.0 / Math.pow(theta, (2.0 * j) / headSize);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) {
                out[j] = 1f;
            } else if (wavelen > lowWavelen) {
                out[j] = (float) factor;
            } else {
                double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                out[j] = (float) (1.0 / ((1 - smooth) / factor + smooth));
            }
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RopeScaling && toString().equals(o.toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "RopeScaling[" + type + ", factor=" + factor + ", originalContext=" + originalContext + ", beta=" + betaFast
                + "/" + betaSlow + ", attnFactor=" + attnFactor + ", freqFactors=" + Arrays.toString(freqFactors) + "]";
    }
}
