package dev.splitllm.deploy.image;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.fetch.ModelFetcher;
import dev.splitllm.fetch.ModelSpec;
import dev.splitllm.fetch.ModelStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Builds the {@code serve} container image without a daemon or a base image: a jlinked Java
 * runtime from this JDK, the glibc libraries it and the jars' native code link against (found
 * with {@code ldd}), a passwd/group for the non-root user, the stories15M model (the server
 * needs it and the pod has no npm and a read-only root), the CLI's jars; written as an OCI
 * archive. Same inputs, same bytes: fixed mtimes and owners, sorted entries.
 *
 * <pre>java -cp deploy/target/classes:cli/target/lib/* dev.splitllm.deploy.image.ImageBuilder \
 *     --cli cli/target --out deploy/target/image/splitllm-0.1.0.oci.tar --tag 0.1.0</pre>
 */
public final class ImageBuilder {
    public static final int UID = 65532;           // the Deployment's runAsUser/runAsGroup
    public static final String USER = "splitllm";
    public static final int PORT = 8080;           // serve's default --port and the Deployment's containerPort
    public static final String JAVA_HOME = "/opt/java";
    public static final String APP = "/opt/splitllm";
    public static final String MODELS = APP + "/models"; // -Dsplitllm.cache: stories15M lives in MODELS/stories15M
    /** Not found by jdeps (loaded by name): the Vector API the kernels use, EC for TLS, Unsafe for zstd/netty-style libs. */
    static final List<String> EXTRA_MODULES = List.of("jdk.incubator.vector", "jdk.crypto.ec", "jdk.unsupported");
    /** AWT, sound and image natives: java.desktop is in the runtime only for java.beans (Jackson); a headless server never loads these. */
    static final Set<String> HEADLESS_SKIP = Set.of("libawt.so", "libawt_xawt.so", "libawt_headless.so", "libfontmanager.so",
            "libjavajpeg.so", "liblcms.so", "libmlib_image.so", "libsplashscreen.so", "libjsound.so", "libjawt.so");

    public static void main(String[] args) throws Exception {
        Path cli = Path.of("cli/target"), out = null, work = null, modelDir = ModelStore.stories15MDir();
        String tag = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cli" -> cli = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--tag" -> tag = args[++i];
                case "--work" -> work = Path.of(args[++i]);
                case "--model-dir" -> modelDir = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (usage: --cli DIR --out FILE.tar --tag TAG [--work DIR] [--model-dir DIR])");
            }
        }
        if (out == null || tag == null) throw new IllegalArgumentException("--out and --tag are required");
        if (work == null) work = out.toAbsolutePath().resolveSibling("work");
        work = work.toAbsolutePath();
        long t0 = System.nanoTime();
        new ImageBuilder().build(cli, modelDir, work, out, tag);
        System.err.printf("image: %s (%.1f MB) in %.1f s%n", out, Files.size(out) / 1e6, (System.nanoTime() - t0) / 1e9);
    }

    public void build(Path cli, Path modelDir, Path work, Path out, String tag) throws IOException, InterruptedException {
        Path jar = cli.resolve("splitllm-cli.jar"), lib = cli.resolve("lib");
        require(Files.isRegularFile(jar) && Files.isDirectory(lib), jar + " and " + lib + " are missing: build the CLI first (mvn -pl cli -am package -DskipTests)");
        require(ModelFetcher.isPresent(ModelSpec.STORIES15M, modelDir), "stories15M is not in " + modelDir + ": run ./splitllm fetch-model");
        List<Path> jars = sorted(lib).stream().filter(p -> p.toString().endsWith(".jar")).toList();
        deleteTree(work);
        Files.createDirectories(work);
        Files.createDirectories(out.toAbsolutePath().getParent());

        Set<String> modules = new TreeSet<>(List.of(tool("jdeps", "--print-module-deps", "--ignore-missing-deps", "--multi-release", "17",
                "-q", "-R", "--class-path", classPath(jars), jar.toString()).strip().lines().reduce((a, b) -> b).orElse("").split(",")));
        modules.addAll(EXTRA_MODULES);
        modules.remove("");
        log("modules: " + String.join(",", modules));
        Path runtime = work.resolve("runtime");
        tool("jlink", "--add-modules", String.join(",", modules), "--strip-debug", "--no-header-files", "--no-man-pages",
                "--compress=2", "--output", runtime.toString());

        Set<Path> natives = new TreeSet<>(nativeLibraries(runtime, jars, work.resolve("natives")));
        log("glibc and friends: " + natives.stream().map(p -> p.getFileName().toString()).collect(Collectors.joining(" ")));

        List<OciArchive.Layer> layers = new ArrayList<>();
        layers.add(OciArchive.layer("base: passwd, group, /tmp, shared libraries", work.resolve("layer-base.tar.gz"), tar -> {
            tar.dir("etc", 0755, 0, 0);
            tar.file("etc/passwd", ("root:x:0:0:root:/root:/usr/sbin/nologin\n" + USER + ":x:" + UID + ":" + UID + ":" + USER
                    + ":/home/" + USER + ":/usr/sbin/nologin\n").getBytes(StandardCharsets.US_ASCII), 0644);
            tar.file("etc/group", ("root:x:0:\n" + USER + ":x:" + UID + ":\n").getBytes(StandardCharsets.US_ASCII), 0644);
            tar.file("etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n".getBytes(StandardCharsets.US_ASCII), 0644);
            tar.dir("home/" + USER, 0755, UID, UID);
            tar.dir("tmp", 01777, 0, 0);
            // Stored under the path ldd printed: the loader's default folders (/lib/x86_64-linux-gnu,
            // /lib64 for ld-linux) work without an ld.so.cache.
            for (Path so : natives) tar.file(so.toString(), so, 0755);
        }));
        layers.add(OciArchive.layer("jlinked Java runtime: " + String.join(",", modules), work.resolve("layer-java.tar.gz"),
                tar -> tree(tar, runtime, JAVA_HOME)));
        layers.add(OciArchive.layer("model: stories15M", work.resolve("layer-model.tar.gz"), tar -> {
            ModelSpec s = ModelSpec.STORIES15M;
            String dir = MODELS + "/" + ModelStore.STORIES15M + "/";
            tar.file(dir + s.modelFile(), modelDir.resolve(s.modelFile()), 0644);
            tar.file(dir + s.tokenizerFile(), modelDir.resolve(s.tokenizerFile()), 0644);
            // The fetcher's markers (sha256, size, mtime in ms): with them the server skips re-hashing
            // 60 MB at start; with a runtime that loses the mtime it hashes once, nothing else changes.
            tar.file(dir + s.modelFile() + ".verified", marker(s.modelSha256(), modelDir.resolve(s.modelFile())), 0644);
            tar.file(dir + s.tokenizerFile() + ".verified", marker(s.tokenizerSha256(), modelDir.resolve(s.tokenizerFile())), 0644);
        }));
        layers.add(OciArchive.layer("libraries: cli/target/lib", work.resolve("layer-lib.tar.gz"), tar -> {
            tar.dir(APP + "/lib", 0755, 0, 0);
            for (Path j : jars) tar.file(APP + "/lib/" + j.getFileName(), j, 0644);
        }));
        layers.add(OciArchive.layer("application: splitllm-cli.jar", work.resolve("layer-app.tar.gz"),
                tar -> tar.file(APP + "/splitllm-cli.jar", jar, 0644)));

        OciArchive.write(out, config(tag), layers, tag);
    }

    /** The image config: what the runtime runs, as whom, and on which port. */
    public static ObjectNode config(String tag) {
        ObjectNode c = OciArchive.JSON.createObjectNode();
        c.put("created", "1980-01-01T00:00:01Z").put("architecture", "amd64").put("os", "linux");
        ObjectNode cfg = c.putObject("config");
        cfg.put("User", UID + ":" + UID);
        cfg.putObject("ExposedPorts").putObject(PORT + "/tcp");
        cfg.putArray("Env").add("PATH=" + JAVA_HOME + "/bin:/usr/bin:/bin").add("JAVA_HOME=" + JAVA_HOME)
                .add("OPT_OUT_TRACKING=true") // DJL (the ONNX backend) sends no usage data
                .add("HOME=/home/" + USER);
        ArrayNode entry = cfg.putArray("Entrypoint");
        // The launcher's JVM options (./splitllm), a heap sized from the pod's memory limit, the model from the image.
        Stream.of(JAVA_HOME + "/bin/java", "--add-modules", "jdk.incubator.vector", "-Dai.djl.offline=true", "-Xss8m",
                "-XX:MaxRAMPercentage=75", "-Dfile.encoding=UTF-8", "-Dsplitllm.cache=" + MODELS,
                "-cp", APP + "/splitllm-cli.jar:" + APP + "/lib/*", "dev.splitllm.cli.Main").forEach(entry::add);
        // Kubernetes' args replace Cmd: the Deployment passes its own "serve ..." line.
        ArrayNode cmd = cfg.putArray("Cmd");
        Stream.of("serve", "--host", "0.0.0.0", "--port", String.valueOf(PORT)).forEach(cmd::add);
        cfg.put("WorkingDir", APP);
        cfg.put("StopSignal", "SIGTERM"); // SIGTERM drains (see docs/DEPLOY.md)
        cfg.putObject("Labels").put("org.opencontainers.image.title", "splitllm")
                .put("org.opencontainers.image.description", "splitllm cloud server (serve): the back blocks of a split LLM")
                .put("org.opencontainers.image.version", tag);
        return c;
    }

    /**
     * Shared libraries outside the runtime that java, libjvm, the runtime's JNI libraries and the
     * jars' Linux x86-64 JNI libraries (zstd, onnxruntime, tokenizers, jna) link against.
     */
    static Set<Path> nativeLibraries(Path runtime, List<Path> jars, Path extractTo) throws IOException, InterruptedException {
        List<Path> elfs = new ArrayList<>();
        elfs.add(runtime.resolve("bin/java"));
        try (Stream<Path> s = Files.walk(runtime.resolve("lib"))) {
            s.filter(p -> p.toString().endsWith(".so") && !HEADLESS_SKIP.contains(p.getFileName().toString())).sorted().forEach(elfs::add);
        }
        Files.createDirectories(extractTo);
        for (Path j : jars) {
            try (ZipFile z = new ZipFile(j.toFile())) {
                for (ZipEntry e : z.stream().filter(e -> e.getName().matches("(?i).*linux.?(x86.64|amd64|x64)/.*\\.so")).toList()) {
                    Path dst = extractTo.resolve(j.getFileName() + "-" + Path.of(e.getName()).getFileName());
                    try (InputStream in = z.getInputStream(e)) {
                        Files.copy(in, dst);
                    }
                    elfs.add(dst);
                }
            }
        }
        Set<Path> libs = new LinkedHashSet<>();
        for (Path elf : elfs) {
            Process p = new ProcessBuilder("ldd", elf.toString()).redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            for (String line : text.lines().map(String::strip).toList()) {
                // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
                String path = line.contains("=> /") ? line.substring(line.indexOf("=> ") + 3) : line.startsWith("/") ? line : null;
                if (path == null) continue;
                Path lib = Path.of(path.replaceAll(" \\(0x[0-9a-f]+\\)$", "")).normalize();
                if (!lib.startsWith(runtime.toAbsolutePath()) && !lib.startsWith(runtime) && !lib.startsWith(extractTo)) libs.add(lib);
            }
        }
        require(libs.stream().anyMatch(l -> l.getFileName().toString().startsWith("libc.so")), "ldd found no libc: " + libs);
        return libs;
    }

    /** A folder tree under {@code at}: executables 0755, other files 0644, symlinks kept as links. */
    static void tree(TarWriter tar, Path root, String at) throws IOException {
        tar.dir(at, 0755, 0, 0);
        for (Path p : sorted(root)) {
            String name = at + "/" + root.relativize(p).toString().replace('\\', '/');
            if (Files.isSymbolicLink(p)) {
                tar.symlink(name, Files.readSymbolicLink(p).toString());
            } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                tar.dir(name, 0755, 0, 0);
            } else {
                boolean exec = Files.getPosixFilePermissions(p).contains(PosixFilePermission.OWNER_EXECUTE);
                tar.file(name, p, exec ? 0755 : 0644);
            }
        }
    }

    /** Jar by jar: in-process jdeps does not expand "lib/*" as its launcher does. */
    private static String classPath(List<Path> jars) {
        return jars.stream().map(Path::toString).collect(Collectors.joining(java.io.File.pathSeparator));
    }

    static byte[] marker(String sha256, Path file) throws IOException {
        return (sha256 + " " + Files.size(file) + " " + TarWriter.MTIME * 1000 + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static List<Path> sorted(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> !p.equals(root)).sorted(Comparator.comparing(Path::toString)).toList();
        }
    }

    private static String tool(String name, String... args) {
        ToolProvider t = ToolProvider.findFirst(name).orElseThrow(() -> new IllegalStateException(name + " is missing: run with a JDK, not a JRE"));
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = t.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        if (rc != 0) throw new IllegalStateException(name + " failed (" + rc + "): " + err + out);
        return out.toString(StandardCharsets.UTF_8);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalStateException(message);
    }

    private static void log(String s) {
        System.err.println("image: " + s);
    }
}
