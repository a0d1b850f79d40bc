package dev.splitllm.engine.forward;

import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelSlice;

/**
 * Something that can run a model's layer ranges: it holds the weights of one
 * {@link ModelSlice} and opens any number of independent {@link Segment}s over them (one per
 * generation stream / session).
 */
public interface Backend extends AutoCloseable {

    LlamaConfig config();

    /** The part of the model this backend holds. */
    ModelSlice slice();

    /** A new stream over blocks [firstLayer, endLayer) with room for {@code capacity} positions. */
    Segment open(int firstLayer, int endLayer, int capacity);

    /** A new stream over every block this backend holds. */
    default Segment open(int capacity) {
        return open(slice().firstLayer(), slice().endLayer(), capacity);
    }

    String name();

    @Override
    default void close() {}
}
