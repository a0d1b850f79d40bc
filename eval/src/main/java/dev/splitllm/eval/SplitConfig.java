package dev.splitllm.eval;

/**
 * One configuration to measure against the unsplit fp32 model: cut after {@code split} blocks
 * of {@code variant}, with {@code wire} carrying the hidden state across.
 *
 * @param split   number of edge blocks, 0..L (0: the edge only embeds; L: the cloud only runs the head)
 * @param variant weights (and activation hook) on both sides
 * @param wire    what happens to the hidden state at the cut
 */
public record SplitConfig(int split, ModelVariant variant, Wire wire) {
    public SplitConfig {
        if (variant == null || wire == null) {
            throw new IllegalArgumentException("a split configuration needs a model variant and a wire");
        }
        int layers = variant.transformer().config().nLayers();
        if (split < 0 || split > layers) {
            throw new IllegalArgumentException("split layer must be in 0.." + layers + ", got " + split);
        }
    }

    /** "l=3 fp32 tabq:..." */
    public String label() {
        return "l=" + split + " " + variant.name() + " " + wire.name();
    }
}
