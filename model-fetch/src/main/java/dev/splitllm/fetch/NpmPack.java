package dev.splitllm.fetch;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Downloads an npm package tarball with {@code npm pack NAME@VERSION}, run in a given folder
 * with the npm client's own configuration (registry, proxy, cache). Its output goes to a log
 * file in that folder and is shown, trimmed, when the command fails.
 */
public final class NpmPack {
    /** Lines of npm output quoted in an error message. */
    private static final int TAIL_LINES = 25;

    private final String npm;
    private final Duration timeout;

    /**
     * @param npm     the npm executable (a name looked up on PATH, or a path)
     * @param timeout how long the download may take before it is stopped
     */
    public NpmPack(String npm, Duration timeout) {
        if (npm == null || npm.isBlank()) {
            throw new IllegalArgumentException("npm command must not be empty");
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive");
        }
        this.npm = npm;
        this.timeout = timeout;
    }

    public String command() {
        return npm;
    }

    /** Runs {@code npm pack spec} in {@code workDir} and returns the tarball it wrote there. */
    public Path pack(String spec, Path workDir) throws FetchException {
        Path log = workDir.resolve("npm-pack.log");
        List<String> cmd = List.of(npm, "pack", spec, "--ignore-scripts");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new FetchException("cannot run '" + npm + "', which is needed once to fetch the model: " + e.getMessage()
                    + ". Install Node.js and npm (Debian: apt-get install npm), or point -Dsplitllm.npm at the npm executable.", e);
        }
        boolean done;
        try {
            done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new FetchException("interrupted while running npm pack " + spec);
        }
        if (!done) {
            p.destroyForcibly();
            throw new FetchException("npm pack " + spec + " did not finish within " + timeout.toSeconds() + " s" + tail(log));
        }
        if (p.exitValue() != 0) {
            throw new FetchException("npm pack " + spec + " failed (exit " + p.exitValue() + "); is the npm registry reachable?"
                    + tail(log));
        }
        List<Path> tarballs = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(workDir, "*.tgz")) {
            ds.forEach(tarballs::add);
        } catch (IOException e) {
            throw new FetchException("cannot list " + workDir + ": " + e.getMessage(), e);
        }
        if (tarballs.size() != 1) {
            throw new FetchException("npm pack " + spec + " succeeded but left " + tarballs.size()
                    + " .tgz files instead of one" + tail(log));
        }
        return tarballs.get(0);
    }

    private static java.io.File nullDevice() {
        return new java.io.File(System.getProperty("os.name", "").startsWith("Windows") ? "NUL" : "/dev/null");
    }

    /** The last lines of npm's output, as a message suffix ("" when empty or unreadable). */
    private static String tail(Path log) {
        try {
            if (!Files.isRegularFile(log)) {
                return "";
            }
            long size = Files.size(log);
            byte[] all;
            try (var ch = java.nio.channels.FileChannel.open(log)) {
                long from = Math.max(0, size - 8192);
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) (size - from));
                ch.read(buf, from);
                all = buf.array();
            }
            String[] lines = new String(all, StandardCharsets.UTF_8).strip().split("\r?\n");
            if (lines.length == 0 || lines[0].isEmpty()) {
                return "";
            }
            int start = Math.max(0, lines.length - TAIL_LINES);
            StringBuilder sb = new StringBuilder(". npm said:");
            for (int i = start; i < lines.length; i++) {
                sb.append("\n  ").append(lines[i]);
            }
            return sb.toString();
        } catch (IOException e) {
            return "";
        }
    }
}
