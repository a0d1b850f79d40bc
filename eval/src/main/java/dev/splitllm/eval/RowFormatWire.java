package dev.splitllm.eval;

/**
 * A baseline's own activation format at the cut (e.g. SmoothQuant's per-token int8, Atom's
 * int8-outlier + 4-bit groups): frames are quantized in place by the {@link RowQuantizer} and
 * charged its stored size per row (computed, not serialized: these formats have no wire codec).
 */
public final class RowFormatWire implements Wire {
    private final String name;
    private final RowQuantizer format;

    public RowFormatWire(String name, RowQuantizer format) {
        this.name = name;
        this.format = format;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Session open(BitsTally tally) {
        return (x, tokens, dim, prefill) -> {
            float[] y = java.util.Arrays.copyOf(x, tokens * dim);
            format.apply(y, tokens, dim);
            tally.add(prefill, format.bitsPerRow(dim) * tokens, (long) tokens * dim);
            return y;
        };
    }
}
