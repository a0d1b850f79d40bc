package dev.splitllm.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Fetches Debian packages without installing them: {@code apt-get download NAME...} into a
 * folder, then {@code dpkg-deb -x} to unpack. Runs {@code apt-get update} once and retries only
 * when the first download fails because the package lists are missing. Errors name the command,
 * its exit status and the end of its output; a missing {@code apt-get} or {@code dpkg-deb} says so.
 */
public final class DebianPackages {
    /** Longest a single apt-get or dpkg-deb call may run. */
    static final long TIMEOUT_SECONDS = 600;
    private static final int MAX_OUTPUT = 64 * 1024;

    private DebianPackages() {}

    /** Downloads the named packages into {@code dir}; returns the .deb files, one per name, in order. */
    public static List<Path> download(Path dir, String... packages) throws IOException {
        if (packages.length == 0) {
            throw new IllegalArgumentException("no package names given");
        }
        for (String p : packages) {
            if (!p.matches("[a-z0-9][a-z0-9+.-]{0,99}")) {
                throw new IllegalArgumentException("not a Debian package name: '" + p + "'");
            }
        }
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>(List.of("apt-get", "download"));
        cmd.addAll(List.of(packages));
        Result r = run(dir, cmd);
        if (r.status != 0 && (r.output.contains("Unable to locate package") || r.output.contains("no installation candidate")
                || r.output.contains("apt-get update"))) {
            Result u = run(dir, List.of("apt-get", "update"));
            if (u.status != 0) {
                throw failure(List.of("apt-get", "update"), u, "refreshing the package lists (needs root and network access to the configured archive)");
            }
            r = run(dir, cmd);
        }
        if (r.status != 0) {
            throw failure(cmd, r, "downloading " + String.join(", ", packages));
        }
        List<Path> out = new ArrayList<>();
        for (String p : packages) {
            out.add(find(dir, p));
        }
        return out;
    }

    /** Unpacks {@code deb} into {@code target} with {@code dpkg-deb -x}. */
    public static void extract(Path deb, Path target) throws IOException {
        Files.createDirectories(target);
        List<String> cmd = List.of("dpkg-deb", "-x", deb.toString(), target.toString());
        Result r = run(target, cmd);
        if (r.status != 0) {
            throw failure(cmd, r, "unpacking " + deb.getFileName());
        }
    }

    private static Path find(Path dir, String pkg) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> f.getFileName().toString().startsWith(pkg + "_") && f.getFileName().toString().endsWith(".deb"))
                    .findFirst()
                    .orElseThrow(() -> new IOException("apt-get download reported success but wrote no " + pkg + "_*.deb in " + dir));
        }
    }

    /** Exit status and merged output of one command. */
    record Result(int status, String output) {}

    /** Runs {@code cmd} in {@code dir}, merged output captured (bounded), with a time limit. */
    static Result run(Path dir, List<String> cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException("cannot run '" + cmd.get(0) + "': " + e.getMessage() + " (" + cmd.get(0)
                    + " is needed to fetch the evaluation texts; it comes with Debian/Ubuntu's apt and dpkg)", e);
        }
        byte[] out;
        try (var in = p.getInputStream()) {
            out = in.readNBytes(MAX_OUTPUT);
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", cmd), e);
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static IOException failure(List<String> cmd, Result r, String what) {
        String tail = r.output.length() > 2000 ? r.output.substring(r.output.length() - 2000) : r.output;
        return new IOException(what + " failed: '" + String.join(" ", cmd) + "' exited with status " + r.status
                + (tail.isBlank() ? "" : ":\n" + tail.strip()));
    }
}
