package dev.splitllm.tools.convert;

import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelWeights;
import java.io.IOException;

/**
 * Loads a source model's blocks one at a time for writers that emit a block's tensors one after
 * another: the last block loaded is kept, so each block is read once and at most one is in memory.
 */
final class LayerCache {
    private final ModelSource source;
    private int cached = -1;
    private LayerWeights layer;
    private ModelWeights ends;

    LayerCache(ModelSource source) {
        this.source = source;
    }

    LayerWeights layer(int l) throws IOException {
        if (l != cached) {
            layer = null; // let the previous block go before loading the next
            layer = source.load(new ModelSlice(l, l + 1, false, false)).layer(l);
            cached = l;
        }
        return layer;
    }

    /** Embedding, final norm and classifier (no blocks). */
    ModelWeights ends() throws IOException {
        if (ends == null) {
            int n = source.config().nLayers();
            ends = source.load(new ModelSlice(n, n, true, true));
        }
        return ends;
    }

    /** Forgets the embedding and head. */
    void dropEnds() {
        ends = null;
    }
}
