package dev.splitllm.engine.load;

import dev.splitllm.engine.ModelFormatException;
import dev.splitllm.engine.gguf.GgufFile;
import dev.splitllm.engine.gguf.GgufSource;
import dev.splitllm.engine.hf.HfSource;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.Llama2cSource;
import dev.splitllm.engine.model.LoadedModel;
import dev.splitllm.engine.model.ModelFormat;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens a model in any supported format, recognised by content, never by file name:
 * a directory with {@code config.json} (or a safetensors file inside one) is a Hugging Face
 * checkpoint; a file starting with the magic {@code GGUF} is GGUF; a file whose 28-byte header
 * describes a valid shape whose size matches the file exactly is a llama2.c checkpoint.
 */
public final class ModelFiles {
    private ModelFiles() {}

    /** The format of {@code path}; throws naming the path when it is none of the supported ones. */
    public static ModelFormat detect(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve("config.json"))) {
                return ModelFormat.HF_SAFETENSORS;
            }
            throw new ModelFormatException(path + ": a directory without config.json is not a Hugging Face model");
        }
        if (!Files.isRegularFile(path)) {
            throw new java.nio.file.NoSuchFileException(path.toString(), null, "no such model file or directory");
        }
        if (GgufFile.hasMagic(path)) {
            return ModelFormat.GGUF;
        }
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null && Files.isRegularFile(parent.resolve("config.json")) && HfSource.looksLikeSafetensors(path)) {
            return ModelFormat.HF_SAFETENSORS;
        }
        try {
            Llama2cCheckpoint.readConfig(path);
            return ModelFormat.LLAMA2C;
        } catch (ModelFormatException e) {
            throw new ModelFormatException(path + ": not a recognised model (not GGUF, not a Hugging Face directory, and"
                    + " not a llama2.c checkpoint: " + e.getMessage() + ")");
        }
    }

    /** Opens {@code path} (see the class comment); the caller closes the source. */
    public static ModelSource open(Path path) throws IOException {
        switch (detect(path)) {
            case GGUF: return new GgufSource(path);
            case HF_SAFETENSORS: return new HfSource(Files.isDirectory(path) ? path : path.toAbsolutePath().getParent());
            default: return new Llama2cSource(path);
        }
    }

    /** Loads {@code slice} of the model at {@code path} with its tokenizer. */
    public static LoadedModel load(Path path, ModelSlice slice) throws IOException {
        try (ModelSource src = open(path)) {
            return new LoadedModel(src.load(slice), src.tokenizer(), src.format(), src.architecture());
        }
    }
}
