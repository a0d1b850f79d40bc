package dev.splitllm.fetch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Temporary-folder clean-up shared by the host-only downloaders (model fetch, evaluation texts). */
public final class Folders {
    private Folders() {}

    /** Deletes {@code root} and everything below it, best effort: a leftover temporary file is harmless. */
    public static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort, see above
                }
            });
        } catch (IOException ignored) {
            // best effort, see above
        }
    }
}
