package dev.splitllm.fetch;

import java.nio.file.Path;

/**
 * Where fetched models live: {@code -Dsplitllm.cache=DIR} if set (and non-empty), else
 * {@code $XDG_CACHE_HOME/splitllm}, else {@code ~/.cache/splitllm}.
 */
public final class ModelStore {
    private ModelStore() {}

    public static final String STORIES15M = "stories15M";

    public static Path cacheDir() {
        String prop = System.getProperty("splitllm.cache");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "splitllm");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "splitllm");
    }

    /** Folder of the built-in stories15M model: {@code stories15M.bin} and {@code tokenizer.bin}. */
    public static Path stories15MDir() {
        return cacheDir().resolve(STORIES15M);
    }
}
