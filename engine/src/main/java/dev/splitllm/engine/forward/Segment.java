package dev.splitllm.engine.forward;

import dev.splitllm.engine.model.LlamaConfig;

/**
 * One running layer range of one generation stream: the blocks [firstLayer, endLayer) of a
 * model together with their KV cache. The edge half and the cloud half of a split each hold
 * one; a monolithic run holds one covering every block. Backends (the Java engine, ONNX
 * Runtime) implement it, so the runtime does not care which one computes.
 *
 * <p>Not thread-safe: one stream, one caller at a time.
 */
public interface Segment extends AutoCloseable {

    LlamaConfig config();

    int firstLayer();

    int endLayer();

    /** True when this segment can embed token ids (it starts at block 0 with the embedding). */
    boolean hasEmbedding();

    /** True when this segment can produce logits (it ends at block L with the head). */
    boolean hasHead();

    /** Positions already processed; the next token goes here. */
    int position();

    /** Maximum number of positions. */
    int capacity();

    /** Hidden states for token ids (T x dim). Requires {@link #hasEmbedding()}. */
    float[] embed(int[] tokens);

    /** Runs this segment's blocks over T hidden states (T x dim, in place) at the next T positions. */
    void forward(float[] hidden, int tokens);

    /**
     * As {@link #forward}, but each row gets the bits that T successive one-token forwards would
     * give it: drafted rows verified in one step must give the tokens the plain steps would. The
     * default runs the rows one by one; a backend may batch them if it keeps that promise.
     */
    default void forwardAsSteps(float[] hidden, int tokens) {
        int d = config().dim();
        float[] row = new float[d];
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(hidden, t * d, row, 0, d);
            forward(row, 1);
            System.arraycopy(row, 0, hidden, t * d, d);
        }
    }

    /** Next-token logits for the last of T rows of a hidden state that has passed every block. Requires {@link #hasHead()}. */
    float[] lastLogits(float[] hidden, int tokens);

    /** Forgets positions from {@code position} on (only shrinking). */
    void truncate(int position);

    /**
     * Copies of the cached keys and values of layers [from, to) (within this segment's range) for
     * positions [0, positions): the sending end of a KV delta when the cut moves, a session is handed
     * off or restored. {@code result[0][l - from]} holds the keys of layer l, {@code result[1]} the
     * values, positions × kvDim floats each. Backends that cannot copy their cache out refuse.
     */
    default float[][][] exportKv(int from, int to, int positions) {
        throw new UnsupportedOperationException("the " + backendName() + " backend cannot export its KV cache");
    }

    /**
     * Fills layers [from, from + keys.length) of this segment's cache for positions [0, positions)
     * and sets its position to {@code positions}: the receiving end of {@link #exportKv}. Allowed on
     * an empty segment, or again (for other layers) on one already at exactly {@code positions}; the
     * caller fills every layer before running the segment.
     */
    default void loadKv(int from, float[][] keys, float[][] values, int positions) {
        throw new UnsupportedOperationException("the " + backendName() + " backend cannot load a KV cache");
    }

    /** Bytes of KV cache this segment holds. */
    long kvBytes();

    /** Short backend name for logs, e.g. "java/vector-256" or "onnxruntime/cpu". */
    String backendName();

    @Override
    default void close() {}
}
