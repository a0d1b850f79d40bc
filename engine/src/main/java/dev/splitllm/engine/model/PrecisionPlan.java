package dev.splitllm.engine.model;

import dev.splitllm.quantization.weights.WeightFormat;

/**
 * OPSC weight precisions (paper section 2): blocks [0, split) are stored as {@code edge}
 * (Q_w1), blocks [split, L) as {@code cloud} (Q_w2), plus the token embedding and the
 * classifier (LM head) each at its own format. Norm vectors always stay F32.
 *
 * <p>With a shared (tied) classifier, equal {@code embedding} and {@code classifier} formats
 * mean one table serves both; different formats mean a process that holds both the embedding
 * and the head keeps two tables, one per format (and pays for both in {@link MemoryAccount}).
 *
 * @param split      number of front (edge) blocks, in [0, L]
 * @param edge       format of blocks [0, split)
 * @param cloud      format of blocks [split, L)
 * @param embedding  format of the token embedding table
 * @param classifier format of the classifier
 */
public record PrecisionPlan(int split, WeightFormat edge, WeightFormat cloud, WeightFormat embedding,
                            WeightFormat classifier) {

    public PrecisionPlan {
        if (split < 0) {
            throw new IllegalArgumentException("split must be >= 0, got " + split);
        }
        if (edge == null || cloud == null || embedding == null || classifier == null) {
            throw new IllegalArgumentException("every weight format of a precision plan must be set");
        }
    }

    /** Everything at {@code f}. */
    public static PrecisionPlan uniform(WeightFormat f) {
        return new PrecisionPlan(0, f, f, f, f);
    }

    /** The unconverted F32 model. */
    public static PrecisionPlan f32() {
        return uniform(WeightFormat.F32);
    }

    /** Format of block {@code layer}. */
    public WeightFormat layerFormat(int layer) {
        if (layer < 0) {
            throw new IllegalArgumentException("layer must be >= 0, got " + layer);
        }
        return layer < split ? edge : cloud;
    }

    /** True when a tied classifier can share the embedding table (same format). */
    public boolean sharesTable(LlamaConfig c) {
        return c.sharedClassifier() && embedding == classifier;
    }

    /**
     * Throws, naming the tensor, unless every tensor of {@code c} can be stored as this plan says
     * (the split must not exceed L, block formats need rows that are multiples of the block size).
     */
    public void checkAgainst(LlamaConfig c) {
        if (split > c.nLayers()) {
            throw new IllegalArgumentException("split " + split + " exceeds the model's " + c.nLayers() + " layers");
        }
        for (int l = 0; l < c.nLayers(); l++) {
            WeightFormat f = layerFormat(l);
            requireCols(f, c.dim(), "layers." + l + ".wq/wk/wv/wo/w1/w3");
            requireCols(f, c.hiddenDim(), "layers." + l + ".w2");
        }
        requireCols(embedding, c.dim(), "token_embedding");
        requireCols(classifier, c.dim(), "classifier");
    }

    private static void requireCols(WeightFormat requested, int cols, String tensor) {
        WeightFormat f = requested.forRowLength(cols); // a k-quant falls back to q8_0 on other rows
        if (cols % f.blockSize != 0) {
            throw new IllegalArgumentException(tensor + ": " + f.id() + " needs a row length that is a multiple of "
                    + f.blockSize + ", but rows have " + cols + " values");
        }
    }

    @Override
    public String toString() {
        return "split " + split + ": edge " + edge.id() + ", cloud " + cloud.id() + ", embedding " + embedding.id()
                + ", classifier " + classifier.id();
    }
}
