package dev.splitllm.cli;

import dev.splitllm.engine.fetch.FetchException;
import dev.splitllm.engine.fetch.ModelFetcher;
import dev.splitllm.engine.fetch.ModelSpec;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
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

    /** A loaded model with its tokenizer and the files they came from. */
    public record Loaded(ModelWeights weights, Llama2Tokenizer tokenizer, Path modelFile, Path tokenizerFile) {}

    /** The model and tokenizer files the options name (the built-in model fetched if needed), without loading them. */
    public record ModelFiles(Path model, Path tokenizer) {}

    public static ModelFiles resolve(SharedOptions opts, PrintStream progress) {
        Path model = opts.model();
        Path builtInDir = null;
        if (model == null) {
            builtInDir = builtIn(progress);
            model = builtInDir.resolve(ModelSpec.STORIES15M.modelFile());
        } else {
            requireFile(model, "model");
        }
        Path tok = opts.tokenizer();
        if (tok != null) {
            requireFile(tok, "tokenizer");
        } else {
            Path sibling = model.toAbsolutePath().resolveSibling("tokenizer.bin");
            if (Files.isRegularFile(sibling)) {
                tok = sibling;
            } else {
                if (builtInDir == null) builtInDir = builtIn(progress);
                tok = builtInDir.resolve(ModelSpec.STORIES15M.tokenizerFile());
            }
        }
        return new ModelFiles(model, tok);
    }

    public static Loaded load(SharedOptions opts, PrintStream progress) {
        ModelFiles files = resolve(opts, progress);
        Path model = files.model();
        Path tok = files.tokenizer();
        try {
            ModelWeights weights = Llama2cCheckpoint.load(model, ModelSlice.all(Llama2cCheckpoint.readConfig(model).nLayers()));
            Llama2Tokenizer tokenizer = Llama2Tokenizer.load(tok, weights.config().vocabSize());
            return new Loaded(weights, tokenizer, model, tok);
        } catch (NoSuchFileException e) {
            throw new CliFailure("file not found: " + e.getFile(), e);
        } catch (IOException e) {
            throw new CliFailure("cannot load the model: " + e.getMessage(), e);
        } catch (OutOfMemoryError e) {
            throw new CliFailure("not enough memory to load " + model + " (raise the heap with JAVA_OPTS=-Xmx...)", e);
        }
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
