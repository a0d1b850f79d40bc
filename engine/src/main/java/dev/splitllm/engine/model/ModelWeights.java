package dev.splitllm.engine.model;

import dev.splitllm.engine.tensor.WeightMatrix;

/**
 * The weights one process holds for a {@link ModelSlice}: blocks outside the slice are null,
 * and so are the embedding and head when the slice does not include them.
 */
public final class ModelWeights {
    private final LlamaConfig config;
    private final ModelSlice slice;
    private final WeightMatrix tokenEmbedding;
    private final LayerWeights[] layers;
    private final float[] rmsFinal;
    private final WeightMatrix classifier;

    public ModelWeights(LlamaConfig config, ModelSlice slice, WeightMatrix tokenEmbedding, LayerWeights[] layers,
                        float[] rmsFinal, WeightMatrix classifier) {
        slice.checkAgainst(config.nLayers());
        if (layers.length != config.nLayers()) {
            throw new IllegalArgumentException("expected " + config.nLayers() + " layer slots, got " + layers.length);
        }
        for (int l = 0; l < layers.length; l++) {
            if (slice.holdsLayer(l) != (layers[l] != null)) {
                throw new IllegalArgumentException("layer " + l + (slice.holdsLayer(l) ? " is missing" : " is outside the slice"));
            }
        }
        if (slice.withEmbedding() && tokenEmbedding == null) {
            throw new IllegalArgumentException("slice needs the token embedding");
        }
        if (slice.withHead() && (rmsFinal == null || classifier == null)) {
            throw new IllegalArgumentException("slice needs the final norm and classifier");
        }
        this.config = config;
        this.slice = slice;
        this.tokenEmbedding = slice.withEmbedding() ? tokenEmbedding : null;
        this.layers = layers;
        this.rmsFinal = slice.withHead() ? rmsFinal : null;
        this.classifier = slice.withHead() ? classifier : null;
    }

    public LlamaConfig config() {
        return config;
    }

    public ModelSlice slice() {
        return slice;
    }

    /** vocab x dim, or null when the slice has no embedding. */
    public WeightMatrix tokenEmbedding() {
        return tokenEmbedding;
    }

    /** Block {@code l}; throws if this process does not hold it. */
    public LayerWeights layer(int l) {
        if (l < 0 || l >= layers.length || layers[l] == null) {
            throw new IllegalArgumentException("layer " + l + " is not held by this slice " + slice);
        }
        return layers[l];
    }

    public float[] rmsFinal() {
        return rmsFinal;
    }

    /** vocab x dim, or null when the slice has no head. */
    public WeightMatrix classifier() {
        return classifier;
    }

    /** Bytes of weights actually held (a shared classifier counts once). */
    public long bytes() {
        long total = 0;
        if (tokenEmbedding != null) total += tokenEmbedding.bytes();
        for (LayerWeights lw : layers) {
            if (lw != null) total += lw.bytes();
        }
        if (rmsFinal != null) total += 4L * rmsFinal.length;
        if (classifier != null && classifier != tokenEmbedding) total += classifier.bytes();
        return total;
    }
}
