package dev.splitllm.eval;

/** Per-token symmetric int8 activations with one fp16 absmax scale per row (SmoothQuant's A8). */
public final class PerTokenInt8 implements RowQuantizer {
    @Override
    public void apply(float[] x, int tokens, int width) {
        for (int t = 0; t < tokens; t++) {
            FakeQuant.symmetric(x, t * width, width, 8);
        }
    }

    @Override
    public long bitsPerRow(int width) {
        return 8L * width + 16;
    }
}
