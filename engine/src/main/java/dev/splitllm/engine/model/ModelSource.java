package dev.splitllm.engine.model;

import dev.splitllm.engine.ModelFormatException;

import dev.splitllm.engine.tokenizer.Tokenizer;
import java.io.IOException;

/**
 * An opened model in one of the supported formats: its configuration, the weights of any
 * {@link ModelSlice} (only those tensors are read), and its tokenizer. Opened by
 * {@link dev.splitllm.engine.load.ModelFiles#open}; closing releases the file handles (loaded weights stay valid).
 */
public interface ModelSource extends AutoCloseable {

    /** The on-disk format. */
    ModelFormat format();

    LlamaConfig config();

    /** The weights of {@code slice}, in the precision stored in the file. */
    ModelWeights load(ModelSlice slice) throws IOException;

    /** The model's tokenizer, or null when the model comes without one. */
    Tokenizer tokenizer() throws IOException;

    /** A short human-readable architecture name, e.g. "llama" or "qwen2". */
    String architecture();

    @Override
    void close() throws IOException;
}
