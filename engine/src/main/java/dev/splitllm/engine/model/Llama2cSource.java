package dev.splitllm.engine.model;

import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A llama2.c checkpoint as a {@link ModelSource}; its tokenizer is {@code tokenizer.bin} beside it, if present. */
public final class Llama2cSource implements ModelSource {
    private final Path file;
    private final LlamaConfig config;

    public Llama2cSource(Path file) throws IOException {
        this.file = file;
        this.config = Llama2cCheckpoint.readConfig(file);
    }

    @Override
    public ModelFormat format() {
        return ModelFormat.LLAMA2C;
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    @Override
    public ModelWeights load(ModelSlice slice) throws IOException {
        return Llama2cCheckpoint.load(file, slice);
    }

    @Override
    public Tokenizer tokenizer() throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tok = dir == null ? null : dir.resolve("tokenizer.bin");
        return tok != null && Files.isRegularFile(tok) ? Llama2Tokenizer.load(tok, config.vocabSize()) : null;
    }

    @Override
    public String architecture() {
        return "llama";
    }

    @Override
    public void close() {}
}
