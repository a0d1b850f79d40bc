package dev.splitllm.eval;

import dev.splitllm.engine.forward.Transformer;

/**
 * The model a split path runs on both sides of the cut: the fp32 model, an OPSC conversion
 * (edge blocks and cloud blocks at their own weight formats), or a whole-model baseline (its
 * transformed weights plus an activation hook). The edge uses its blocks [0, l) and the cloud
 * its blocks [l, L), each with its own state.
 *
 * @param name        label for tables
 * @param transformer forward pass over the variant's weights
 */
public record ModelVariant(String name, Transformer transformer) {
    public ModelVariant {
        if (name == null || name.isBlank() || transformer == null) {
            throw new IllegalArgumentException("a model variant needs a name and a transformer");
        }
    }
}
