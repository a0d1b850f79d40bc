package dev.splitllm.engine.gguf;

import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelFormat;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;

/** A GGUF file as a {@link ModelSource}: weights through {@link GgufModelLoader}, tokenizer through {@link GgufTokenizerLoader}. */
public final class GgufSource implements ModelSource {
    private final GgufFile file;
    private final LlamaConfig config;
    private final String arch;
    private Tokenizer tokenizer;

    public GgufSource(Path path) throws IOException {
        this.file = GgufFile.open(path);
        try {
            this.arch = GgufModelLoader.architecture(file);
            this.config = GgufModelLoader.config(file);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** The parsed file. */
    public GgufFile file() {
        return file;
    }

    @Override
    public ModelFormat format() {
        return ModelFormat.GGUF;
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    @Override
    public ModelWeights load(ModelSlice slice) throws IOException {
        return GgufModelLoader.load(file, slice);
    }

    @Override
    public synchronized Tokenizer tokenizer() throws IOException {
        if (tokenizer == null && file.get("tokenizer.ggml.model") != null) {
            tokenizer = GgufTokenizerLoader.load(file, config.vocabSize());
        }
        return tokenizer;
    }

    @Override
    public String architecture() {
        return arch;
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
