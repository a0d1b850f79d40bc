package dev.splitllm.cloud;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * Tests that need a program outside the JDK (node with the openai package, chromium): in a plain
 * {@code mvn test} they skip with the reason when it is missing; with
 * {@code -Dsplitllm.requireTools=true} (what scripts/openai-client-test.sh and
 * scripts/dashboard-test.sh pass) a missing tool is a failure.
 */
final class ExternalTools {
    private ExternalTools() {}

    static void require(boolean present, String reason) {
        if (present) return;
        if (Boolean.getBoolean("splitllm.requireTools")) throw new AssertionError(reason);
        Assumptions.abort(reason);
    }

    /** The first of {@code names} found on the PATH. */
    static Optional<Path> onPath(String... names) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String n : names) {
            for (String dir : path.split(File.pathSeparator)) {
                Path p = Path.of(dir.isEmpty() ? "." : dir, n);
                if (Files.isRegularFile(p) && Files.isExecutable(p)) return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The user's cache folder for splitllm ($XDG_CACHE_HOME/splitllm or ~/.cache/splitllm). */
    static Path cache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        return (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("splitllm");
    }

    /** The repository root (tests run in the module's folder). */
    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        return Files.isDirectory(p.resolve("scripts")) ? p : p.getParent();
    }
}
