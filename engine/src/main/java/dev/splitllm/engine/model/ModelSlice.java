package dev.splitllm.engine.model;

/**
 * Which part of a model a process holds: blocks [firstLayer, endLayer), plus optionally the
 * token embedding (needed by whoever runs block 0) and the head (final norm and classifier,
 * needed by whoever produces logits). The edge of a split at layer l holds
 * {@code edge(l)}, the cloud {@code cloud(l, L)}; a monolithic model holds {@code all(L)}.
 */
public record ModelSlice(int firstLayer, int endLayer, boolean withEmbedding, boolean withHead) {

    public ModelSlice {
        if (firstLayer < 0 || endLayer < firstLayer) {
            throw new IllegalArgumentException("invalid layer range [" + firstLayer + ", " + endLayer + ")");
        }
    }

    public static ModelSlice all(int nLayers) {
        return new ModelSlice(0, nLayers, true, true);
    }

    /** Front segment of a split after {@code split} blocks: embedding + blocks [0, split). */
    public static ModelSlice edge(int split) {
        return new ModelSlice(0, split, true, false);
    }

    /** Back segment: blocks [split, nLayers) + final norm + classifier. */
    public static ModelSlice cloud(int split, int nLayers) {
        return new ModelSlice(split, nLayers, false, true);
    }

    public boolean holdsLayer(int layer) {
        return layer >= firstLayer && layer < endLayer;
    }

    public int layerCount() {
        return endLayer - firstLayer;
    }

    /** Throws unless this slice fits a model with {@code nLayers} blocks. */
    public void checkAgainst(int nLayers) {
        if (endLayer > nLayers) {
            throw new IllegalArgumentException("layer range [" + firstLayer + ", " + endLayer + ") exceeds the model's " + nLayers + " layers");
        }
    }
}
