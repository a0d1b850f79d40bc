package dev.splitllm.engine.model;

/**
 * Shape and hyper-parameters of a Llama-family decoder.
 *
 * @param dim              model (residual stream) width d
 * @param hiddenDim        SwiGLU inner width
 * @param nLayers          number of transformer blocks L
 * @param nHeads           query heads
 * @param nKvHeads         key/value heads (fewer than nHeads = grouped-query attention)
 * @param vocabSize        vocabulary size
 * @param seqLen           maximum context length
 * @param ropeTheta        RoPE base frequency
 * @param normEps          RMSNorm epsilon
 * @param sharedClassifier true when the LM head reuses the token embedding table
 * @param ropeScaling      RoPE scaling ({@link RopeScaling#NONE} for plain RoPE)
 * @param slidingWindow    attention window in positions ({@link SlidingWindow}), 0 for full attention
 */
public record LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                          int seqLen, float ropeTheta, float normEps, boolean sharedClassifier,
                          RopeScaling ropeScaling, int slidingWindow) {

    /** Upper bounds that reject garbage headers before anything is allocated. */
    public static final int MAX_DIM = 1 << 16;
    public static final int MAX_LAYERS = 1024;
    public static final int MAX_VOCAB = 1 << 22;
    public static final int MAX_SEQ_LEN = 1 << 20;

    /** Plain RoPE and full attention (Llama 2, stories15M). */
    public LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                       int seqLen, float ropeTheta, float normEps, boolean sharedClassifier) {
        this(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, ropeTheta, normEps, sharedClassifier, RopeScaling.NONE, 0);
    }

    public LlamaConfig {
        if (ropeScaling == null) {
            ropeScaling = RopeScaling.NONE;
        }
        check(slidingWindow >= 0, "sliding_window", slidingWindow);
        if (ropeScaling.freqFactors() != null && ropeScaling.freqFactors().length != dim / Math.max(1, nHeads) / 2) {
            throw new IllegalArgumentException("invalid model config: " + ropeScaling.freqFactors().length
                    + " RoPE frequency factors for head size " + dim / Math.max(1, nHeads));
        }
        check(dim > 0 && dim <= MAX_DIM, "dim", dim);
        check(hiddenDim > 0 && hiddenDim <= 4 * MAX_DIM, "hidden_dim", hiddenDim);
        check(nLayers > 0 && nLayers <= MAX_LAYERS, "n_layers", nLayers);
        check(nHeads > 0 && nHeads <= dim && dim % nHeads == 0, "n_heads (must divide dim)", nHeads);
        check(nKvHeads > 0 && nKvHeads <= nHeads && nHeads % nKvHeads == 0, "n_kv_heads (must divide n_heads)", nKvHeads);
        check(vocabSize > 0 && vocabSize <= MAX_VOCAB, "vocab_size", vocabSize);
        check(seqLen > 0 && seqLen <= MAX_SEQ_LEN, "seq_len", seqLen);
        check((dim / nHeads) % 2 == 0, "head size (must be even for RoPE)", dim / nHeads);
        if (!(ropeTheta > 0) || !(normEps > 0)) {
            throw new IllegalArgumentException("rope theta and norm eps must be positive, got " + ropeTheta + " and " + normEps);
        }
    }

    private static void check(boolean ok, String what, long value) {
        if (!ok) {
            throw new IllegalArgumentException("invalid model config: " + what + " = " + value);
        }
    }

    public int headSize() {
        return dim / nHeads;
    }

    /** Width of one position's keys (and values) in one layer. */
    public int kvDim() {
        return nKvHeads * headSize();
    }

    /** Query heads per key/value head. */
    public int kvGroup() {
        return nHeads / nKvHeads;
    }

    /** Parameters in one transformer block (matrices plus the two norm vectors). */
    public long blockParameters() {
        long d = dim;
        return 2 * d * d + 2 * d * kvDim() + 3 * d * hiddenDim + 2 * d;
    }

    /** A copy with a different context length (e.g. a shorter planned sequence length). */
    public LlamaConfig withSeqLen(int newSeqLen) {
        return new LlamaConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, newSeqLen, ropeTheta, normEps, sharedClassifier,
                ropeScaling, slidingWindow);
    }

    /** A copy with other RoPE scaling and attention window. */
    public LlamaConfig withAttention(RopeScaling scaling, int window) {
        return new LlamaConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, ropeTheta, normEps, sharedClassifier,
                scaling, window);
    }
}
