package dev.splitllm.cli;

import dev.splitllm.fetch.FetchException;
import dev.splitllm.fetch.ModelFetcher;
import dev.splitllm.fetch.ModelSpec;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelFormat;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Resolves {@link SharedOptions#model()} and {@link SharedOptions#tokenizer()} to files
 * (fetching the built-in stories15M when needed) and loads them whole.
 */
public final class ModelLoader {
    private ModelLoader() {}

    /** A loaded model with its tokenizer and the files they came from (tokenizerFile is null when the model embeds it). */
    public record Loaded(ModelWeights weights, Tokenizer tokenizer, Path modelFile, Path tokenizerFile) {}

    /**
     * The model and tokenizer paths the options name, the built-in model fetched if needed, without
     * loading them. {@code tokenizer} is null when the model carries its own (GGUF, Hugging Face).
     */
    public record ModelPaths(Path model, Path tokenizer) {}

    public static ModelPaths resolve(SharedOptions opts, PrintStream progress) {
        Path model = opts.model();
        Path builtInDir = null;
        if (model == null) {
            builtInDir = builtIn(progress);
            model = builtInDir.resolve(ModelSpec.STORIES15M.modelFile());
        } else if (!Files.exists(model)) {
            throw new CliFailure("model file not found: " + model);
        }
        Path tok = opts.tokenizer();
        if (tok != null) {
            requireFile(tok, "tokenizer");
            return new ModelPaths(model, tok);
        }
        try {
            if (ModelFiles.detect(model) != ModelFormat.LLAMA2C) {
                return new ModelPaths(model, null); // GGUF and Hugging Face models carry their tokenizer
            }
        } catch (IOException e) {
            throw new CliFailure("cannot load the model: " + e.getMessage(), e);
        }
        Path sibling = model.toAbsolutePath().resolveSibling("tokenizer.bin");
        if (Files.isRegularFile(sibling)) {
            tok = sibling;
        } else {
            if (builtInDir == null) builtInDir = builtIn(progress);
            tok = builtInDir.resolve(ModelSpec.STORIES15M.tokenizerFile());
        }
        return new ModelPaths(model, tok);
    }

    /** Loads the whole model (any supported format, detected from its content) and its tokenizer. */
    public static Loaded load(SharedOptions opts, PrintStream progress) {
        ModelPaths paths = resolve(opts, progress);
        Path model = paths.model();
        try (ModelSource src = ModelFiles.open(model)) {
            ModelWeights weights = src.load(ModelSlice.all(src.config().nLayers()));
            Tokenizer tokenizer = loadTokenizer(paths, src);
            return new Loaded(weights, tokenizer, model, paths.tokenizer());
        } catch (NoSuchFileException e) {
            throw new CliFailure("file not found: " + e.getFile(), e);
        } catch (IOException e) {
            throw new CliFailure("cannot load the model: " + e.getMessage(), e);
        } catch (OutOfMemoryError e) {
            throw new CliFailure("not enough memory to load " + model + " (raise the heap with JAVA_OPTS=-Xmx...)", e);
        }
    }

    /** The explicit tokenizer file if one was named, else the one the model carries. */
    static Tokenizer loadTokenizer(ModelPaths paths, ModelSource src) throws IOException {
        if (paths.tokenizer() != null) {
            try {
                return Llama2Tokenizer.load(paths.tokenizer(), src.config().vocabSize());
            } catch (IOException | RuntimeException e) {
                // Say it is the tokenizer, not the model, that could not be read.
                throw new CliFailure("cannot read tokenizer " + paths.tokenizer() + ": not a llama2.c tokenizer.bin for this model ("
                        + e.getMessage() + "); pass the tokenizer.bin that came with the model, or leave out --tokenizer", e);
            }
        }
        Tokenizer t = src.tokenizer();
        if (t == null) {
            throw new CliFailure(paths.model() + " carries no tokenizer; pass --tokenizer FILE");
        }
        return t;
    }

    private static Path builtIn(PrintStream progress) {
        ProgressBarListener listener = new ProgressBarListener(progress, false);
        try {
            return ModelFetcher.ensureStories15M(listener);
        } catch (FetchException e) {
            listener.closeBar();
            throw new CliFailure(e.getMessage(), e);
        }
    }

    private static void requireFile(Path p, String what) {
        if (!Files.exists(p)) {
            throw new CliFailure(what + " file not found: " + p);
        }
        if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
            throw new CliFailure(what + " path is not a readable file: " + p);
        }
    }
}
