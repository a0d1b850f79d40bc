package dev.splitllm.optimizer.profile;

import dev.splitllm.engine.model.LlamaConfig;

/**
 * The shape of the model a profile, calibration table or plan belongs to (the JSON form of a
 * {@link LlamaConfig}, without RoPE and norm constants, which cost nothing).
 *
 * @param name             label, e.g. "stories15M" or "llama-3.2-1b-shape"
 * @param dim              model width d
 * @param hiddenDim        feed-forward width
 * @param nLayers          blocks L
 * @param nHeads           query heads
 * @param nKvHeads         key/value heads
 * @param vocabSize        vocabulary
 * @param seqLen           maximum context
 * @param sharedClassifier LM head tied to the embedding
 */
public record ModelShape(String name, int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                         int seqLen, boolean sharedClassifier) {

    public ModelShape {
        if (name == null || name.isBlank() || name.length() > 128) {
            throw new IllegalArgumentException("model name must be 1..128 characters");
        }
        config(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier); // validates
    }

    /** The shape of {@code c}, labelled {@code name}. */
    public static ModelShape of(String name, LlamaConfig c) {
        return new ModelShape(name, c.dim(), c.hiddenDim(), c.nLayers(), c.nHeads(), c.nKvHeads(), c.vocabSize(), c.seqLen(),
                c.sharedClassifier());
    }

    /** An engine config of this shape (RoPE theta 10000, norm eps 1e-5: they do not affect cost). */
    public LlamaConfig toConfig() {
        return config(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier);
    }

    private static LlamaConfig config(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int seqLen,
                                      boolean shared) {
        return new LlamaConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, 10000f, 1e-5f, shared);
    }

    /** True when {@code o} has the same dimensions (names may differ). */
    public boolean sameShape(ModelShape o) {
        return dim == o.dim && hiddenDim == o.hiddenDim && nLayers == o.nLayers && nHeads == o.nHeads && nKvHeads == o.nKvHeads
                && vocabSize == o.vocabSize && sharedClassifier == o.sharedClassifier;
    }

    /** "d=288 hidden=768 L=6 heads=6/6 vocab=32000 seq=256". */
    public String describe() {
        return "d=" + dim + " hidden=" + hiddenDim + " L=" + nLayers + " heads=" + nHeads + "/" + nKvHeads + " vocab=" + vocabSize
                + " seq=" + seqLen;
    }
}
