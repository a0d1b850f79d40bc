package dev.splitllm.engine.model;

/**
 * Sliding-window attention (Mistral): a query at position p attends to positions
 * (p - window, p], as llama.cpp's {@code LLAMA_SWA_TYPE_STANDARD} and Hugging Face do. The KV
 * cache then needs only the last positions: a ring of {@link #cacheRows} rows per block, which
 * is what {@code SegmentState} allocates and {@link MemoryAccount} counts.
 */
public final class SlidingWindow {
    /**
     * Most tokens one forward adds to a windowed cache. A batch of T new tokens needs the
     * window plus T - 1 rows at once (its first token still sees positions the last one
     * overwrites), so longer batches are run in chunks of this size.
     */
    public static final int MAX_BATCH = 32;

    private SlidingWindow() {}

    /** KV rows per block for a cache of {@code capacity} positions. */
    public static int cacheRows(LlamaConfig c, int capacity) {
        int w = c.slidingWindow();
        return w > 0 ? Math.min(capacity, w + MAX_BATCH - 1) : capacity;
    }

    /** First position a query at {@code pos} attends to. */
    public static int firstVisible(LlamaConfig c, int pos) {
        int w = c.slidingWindow();
        return w > 0 ? Math.max(0, pos - w + 1) : 0;
    }
}
