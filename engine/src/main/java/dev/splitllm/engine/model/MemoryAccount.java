package dev.splitllm.engine.model;

import dev.splitllm.quantization.weights.WeightFormat;

/**
 * Exact memory model of the engine for a {@link LlamaConfig} and a {@link PrecisionPlan}, computed
 * without loading any weights (the optimizer's memory cost). Every figure equals the payload of
 * the arrays the engine allocates (checked against a loaded model by the tests):
 *
 * <ul>
 *   <li>a block: Wq (d x d), Wk and Wv (kvDim x d), Wo (d x d), W1 and W3 (hidden x d), W2
 *       (d x hidden) at the block's format, plus two F32 norm vectors of d;</li>
 *   <li>the token embedding (vocab x d) at the embedding format; the classifier (vocab x d) at
 *       its format, counted once when it is tied to the embedding, stored at the same format, and
 *       the slice holds both;</li>
 *   <li>the final norm: d F32;</li>
 *   <li>the KV cache: 2 * kvDim * 4 bytes per position per block (F32 keys and values),
 *       allocated for the whole capacity up front; with a sliding window only
 *       {@link SlidingWindow#cacheRows} positions are held, however long the sequence;</li>
 *   <li>work buffers for a forward of T tokens: T * (3d + 2 kvDim + 2 hidden + headSize) floats
 *       (xb, q, att; k, v; hb, hb2; RoPE cos and sin), the T x d hidden state, and one row of
 *       vocab logits on the head side.</li>
 * </ul>
 * Not counted: JVM object headers, per-call temporaries of attention scores (seq_len floats
 * per thread) and the head's two d-float normalization buffers.
 */
public final class MemoryAccount {
    private final LlamaConfig config;
    private final PrecisionPlan plan;

    public MemoryAccount(LlamaConfig config, PrecisionPlan plan) {
        plan.checkAgainst(config);
        this.config = config;
        this.plan = plan;
    }

    public LlamaConfig config() {
        return config;
    }

    public PrecisionPlan plan() {
        return plan;
    }

    /** Bytes of a rows x cols matrix at {@code f} (as stored: {@link WeightFormat#forRowLength}). */
    public static long matrixBytes(long rows, long cols, WeightFormat f) {
        return rows * f.forRowLength(cols).bytesFor(cols);
    }

    /** Bytes of one block's weights at {@code f}: seven matrices and two F32 norm vectors. */
    public long blockBytes(WeightFormat f) {
        long d = config.dim(), kv = config.kvDim(), h = config.hiddenDim();
        return 2 * matrixBytes(d, d, f) + 2 * matrixBytes(kv, d, f) + 2 * matrixBytes(h, d, f) + matrixBytes(d, h, f)
                + 2 * d * Float.BYTES;
    }

    /** Bytes of block {@code layer} at the plan's format for it. */
    public long blockBytes(int layer) {
        if (layer < 0 || layer >= config.nLayers()) {
            throw new IllegalArgumentException("layer " + layer + " outside [0, " + config.nLayers() + ")");
        }
        return blockBytes(plan.layerFormat(layer));
    }

    /** Token embedding table at the plan's embedding format. */
    public long embeddingBytes() {
        return matrixBytes(config.vocabSize(), config.dim(), plan.embedding());
    }

    /**
     * Classifier bytes beyond the embedding: 0 when it is the embedding table itself (tied, same
     * format, and {@code embeddingHeld}), else a vocab x d table at the classifier format.
     */
    public long classifierBytes(boolean embeddingHeld) {
        if (embeddingHeld && plan.sharesTable(config)) {
            return 0;
        }
        return matrixBytes(config.vocabSize(), config.dim(), plan.classifier());
    }

    /** Final RMSNorm weights. */
    public long finalNormBytes() {
        return (long) config.dim() * Float.BYTES;
    }

    /** F32 keys and values of one position in one block: 2 * kvDim * 4. */
    public long kvBytesPerTokenPerLayer() {
        return 2L * config.kvDim() * Float.BYTES;
    }

    /** KV cache of {@code layers} blocks for {@code positions} positions (bounded by a sliding window). */
    public long kvBytes(int layers, int positions) {
        return (long) layers * SlidingWindow.cacheRows(config, positions) * kvBytesPerTokenPerLayer();
    }

    /**
     * KV cache of {@code layers} blocks of {@code config} for {@code positions} positions. Keys and
     * values are F32 whatever the weight precision, so no plan is needed: the runtime's admission
     * (cloud sessions and completions, edge residency) counts with this.
     */
    public static long kvCacheBytes(LlamaConfig config, int layers, int positions) {
        return new MemoryAccount(config, PrecisionPlan.f32()).kvBytes(layers, positions);
    }

    /** The forward's work buffers for a batch of T tokens. */
    public long scratchBytes(int tokens) {
        long d = config.dim(), kv = config.kvDim(), h = config.hiddenDim(), hs = config.headSize();
        return (long) tokens * (3 * d + 2 * kv + 2 * h + hs) * Float.BYTES;
    }

    /** The T x d hidden-state array. */
    public long hiddenBytes(int tokens) {
        return (long) tokens * config.dim() * Float.BYTES;
    }

    /** One row of logits. */
    public long logitsBytes() {
        return (long) config.vocabSize() * Float.BYTES;
    }

    /**
     * The full account of {@code slice} with a KV cache of {@code seqLen} positions and work
     * buffers for forwards of up to {@code batch} tokens.
     */
    public MemoryReport report(ModelSlice slice, int seqLen, int batch) {
        slice.checkAgainst(config.nLayers());
        if (seqLen < 1 || seqLen > config.seqLen()) {
            throw new IllegalArgumentException("sequence length must be in [1, " + config.seqLen() + "], got " + seqLen);
        }
        if (batch < 1 || batch > seqLen) {
            throw new IllegalArgumentException("batch must be in [1, " + seqLen + "], got " + batch);
        }
        long blocks = 0;
        for (int l = slice.firstLayer(); l < slice.endLayer(); l++) {
            blocks += blockBytes(l);
        }
        boolean head = slice.withHead();
        return new MemoryReport(slice, seqLen, batch,
                slice.withEmbedding() ? embeddingBytes() : 0,
                blocks,
                head ? finalNormBytes() : 0,
                head ? classifierBytes(slice.withEmbedding()) : 0,
                kvBytes(slice.layerCount(), seqLen),
                slice.layerCount() > 0 ? scratchBytes(batch) : 0,
                hiddenBytes(batch),
                head ? logitsBytes() : 0);
    }

    /** The edge process: embedding and blocks [0, split). */
    public MemoryReport edge(int seqLen, int batch) {
        return report(ModelSlice.edge(plan.split()), seqLen, batch);
    }

    /** The cloud process: blocks [split, L), final norm and classifier. */
    public MemoryReport cloud(int seqLen, int batch) {
        return report(ModelSlice.cloud(plan.split(), config.nLayers()), seqLen, batch);
    }

    /** One process holding the whole model (no split). */
    public MemoryReport whole(int seqLen, int batch) {
        return report(ModelSlice.all(config.nLayers()), seqLen, batch);
    }
}
