package dev.splitllm.eval;

import java.util.function.IntFunction;

/**
 * A whole-model quantization baseline in the split framework: its transformed, quantized
 * model (used on both sides of the cut) and its own activation format for the hidden state
 * at the cut, which may depend on the split layer.
 *
 * @param name        label for tables
 * @param description what exactly was done (for the docs)
 * @param variant     the quantized model with its activation hook
 * @param cutWire     the wire at a given split layer
 */
public record Baseline(String name, String description, ModelVariant variant, IntFunction<Wire> cutWire) {

    /** The configuration of this baseline cut after {@code split} blocks. */
    public SplitConfig at(int split) {
        return new SplitConfig(split, variant, cutWire.apply(split));
    }
}
