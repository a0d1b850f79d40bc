package dev.splitllm.deploy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.cli.ServeCommand;
import dev.splitllm.deploy.image.ImageBuilder;
import dev.splitllm.deploy.image.OciArchive;
import dev.splitllm.deploy.image.TarWriter;
import dev.splitllm.edge.EdgeModel;
import dev.splitllm.edge.EdgeOptions;
import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.GenerationResult;
import dev.splitllm.fetch.ModelSpec;
import dev.splitllm.fetch.ModelStore;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The container image, read back with an independent tar reader (commons-compress): index.json →
 * manifest → config, every blob's sha256 and size, the layers' diff_ids, and the config held to the
 * Deployment and the server (entrypoint runs serve, exposed port = containerPort = serve's default
 * port, non-root user = the pod's runAsUser, image tag = the Deployment's image). The archive format
 * and the config are checked in every build; the real image (scripts/build-image.sh, about 35 s)
 * with {@code -Dsplitllm.image=PATH.oci.tar}, which also runs it: extracted into a root folder and
 * started under chroot as the image's user, with /proc and /dev only, then a real edge session.
 */
class ImageTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** One entry of a layer as read back. */
    record Entry(String name, int mode, long uid, long gid, long size, boolean dir, boolean symlink, String link, byte[] small) {
    }

    /** An archive as read back: every blob was checked against its name, every descriptor against its blob. */
    record Image(JsonNode index, JsonNode manifest, JsonNode config, List<List<Entry>> layers, Map<String, Path> blobFiles) {
        /** The merged file system: later layers replace earlier entries. */
        Map<String, Entry> files() {
            Map<String, Entry> all = new LinkedHashMap<>();
            for (List<Entry> l : layers) for (Entry e : l) all.put(e.name(), e);
            return all;
        }
    }

    // ---------------------------------------------------------------- always (fast)

    @Test
    void archiveFormatReadsBackWithAnIndependentReader(@TempDir Path dir) throws IOException {
        Path big = dir.resolve("big.bin");
        byte[] bigBytes = new byte[70_001]; // not a multiple of 512: the padding must be right
        for (int i = 0; i < bigBytes.length; i++) bigBytes[i] = (byte) (i * 31 + 7);
        Files.write(big, bigBytes);
        String longName = "opt/" + "a-rather-long-folder-name/".repeat(5) + "file-with-a-long-name-too.txt"; // > 100 bytes
        assertTrue(longName.length() > 100);

        Path out1 = buildSmall(dir.resolve("one"), big, longName);
        Path out2 = buildSmall(dir.resolve("two"), big, longName);
        assertArrayEquals(Files.readAllBytes(out1), Files.readAllBytes(out2), "same inputs, same archive bytes");

        Image img = read(out1, dir.resolve("blobs"));
        assertEquals("small", img.index().path("manifests").get(0).path("annotations").path(OciArchive.REF_NAME).asText());
        assertEquals("1000:1000", img.config().path("config").path("User").asText());
        Map<String, Entry> f = img.files();
        assertEquals(0755, f.get("etc").mode());
        assertTrue(f.get("etc").dir());
        assertEquals("x:1000\n", new String(f.get("etc/passwd").small(), StandardCharsets.US_ASCII));
        assertEquals(0644, f.get("etc/passwd").mode());
        assertEquals(1000, f.get("home/u").uid());
        assertEquals(01777, f.get("tmp").mode());
        assertEquals(bigBytes.length, f.get("opt/big.bin").size());
        assertEquals(0755, f.get("opt/big.bin").mode());
        assertTrue(f.get("opt/link").symlink());
        assertEquals("big.bin", f.get("opt/link").link());
        assertEquals("long", new String(f.get(longName).small(), StandardCharsets.US_ASCII));
        assertTrue(f.containsKey("opt/" + "a-rather-long-folder-name/".repeat(5).replaceAll("/$", "")), "parent folders are added");
        for (Entry e : f.values()) if (!e.name().equals("home/u")) assertEquals(0, e.uid(), e.name() + " is root-owned");
    }

    private static Path buildSmall(Path work, Path big, String longName) throws IOException {
        Files.createDirectories(work);
        List<OciArchive.Layer> layers = new ArrayList<>();
        layers.add(OciArchive.layer("base", work.resolve("l1.tar.gz"), tar -> {
            tar.file("etc/passwd", "x:1000\n".getBytes(StandardCharsets.US_ASCII), 0644);
            tar.dir("home/u", 0755, 1000, 1000);
            tar.dir("tmp", 01777, 0, 0);
        }));
        layers.add(OciArchive.layer("app", work.resolve("l2.tar.gz"), tar -> {
            tar.file("/opt/big.bin", big, 0755);
            tar.symlink("opt/link", "big.bin");
            tar.file(longName, "long".getBytes(StandardCharsets.US_ASCII), 0644);
        }));
        ObjectNode config = JSON.createObjectNode().put("created", "1980-01-01T00:00:01Z").put("architecture", "amd64").put("os", "linux");
        config.putObject("config").put("User", "1000:1000");
        Path out = work.resolve("small.oci.tar");
        OciArchive.write(out, config, layers, "small");
        return out;
    }

    @Test
    void imageConfigMatchesTheDeploymentAndTheServer() throws IOException {
        checkConfig(ImageBuilder.config(projectVersion()), projectVersion());
    }

    // ---------------------------------------------------------------- the real image

    @Test
    void builtImageHoldsWhatTheServerNeeds(@TempDir Path dir) throws IOException {
        Path tar = imageOrSkip();
        Image img = read(tar, dir);
        String tag = img.index().path("manifests").get(0).path("annotations").path(OciArchive.REF_NAME).asText();
        assertEquals(projectVersion(), tag);
        checkConfig(img.config(), tag);

        Map<String, Entry> f = img.files();
        JsonNode cfg = img.config().path("config");
        List<String> entry = strings(cfg.path("Entrypoint"));
        Entry java = f.get(entry.get(0).substring(1));
        assertNotNull(java, "the entrypoint's java is in the image: " + entry.get(0));
        assertEquals(0755, java.mode());
        assertTrue(f.containsKey("opt/java/lib/server/libjvm.so"));
        assertTrue(f.containsKey("opt/java/lib/modules"));
        assertTrue(f.containsKey("lib64/ld-linux-x86-64.so.2"), "the ELF interpreter java names");
        assertTrue(f.keySet().stream().anyMatch(n -> n.matches("(usr/)?lib/x86_64-linux-gnu/libc\\.so\\.6")), "glibc");
        // Every class path element is there: the CLI jar and each jar of cli/target/lib.
        String cp = entry.get(entry.indexOf("-cp") + 1);
        for (String el : cp.split(":")) {
            if (el.endsWith("/*")) {
                String libDir = el.substring(1, el.length() - 2);
                long jars = f.keySet().stream().filter(n -> n.startsWith(libDir + "/") && n.endsWith(".jar")).count();
                Path hostLib = Paths.get("..", "cli", "target", "lib");
                if (Files.isDirectory(hostLib)) {
                    try (Stream<Path> s = Files.list(hostLib)) {
                        for (Path j : (Iterable<Path>) s.filter(p -> p.toString().endsWith(".jar"))::iterator) {
                            // By name: sizes change with every rebuild of the CLI after the image was built.
                            assertNotNull(f.get(libDir + "/" + j.getFileName()), j.getFileName() + " is in the image (rebuild it if the CLI gained a library)");
                        }
                    }
                }
                assertTrue(jars > 50, "the CLI's libraries: " + jars);
            } else {
                assertNotNull(f.get(el.substring(1)), el + " is in the image");
            }
        }
        assertNotNull(f.get("opt/splitllm/splitllm-cli.jar"));
        // The non-root user exists for the runtime (user name, HOME) and owns nothing but its home.
        String[] user = cfg.path("User").asText().split(":");
        String passwd = new String(f.get("etc/passwd").small(), StandardCharsets.US_ASCII);
        assertTrue(passwd.contains("\nsplitllm:x:" + user[0] + ":" + user[1] + ":splitllm:/home/splitllm:"), passwd);
        assertTrue(new String(f.get("etc/group").small(), StandardCharsets.US_ASCII).contains("\nsplitllm:x:" + user[1] + ":"));
        assertEquals(Long.parseLong(user[0]), f.get("home/splitllm").uid());
        assertEquals(01777, f.get("tmp").mode());
        for (Entry e : f.values()) {
            assertEquals(0, e.mode() & 06000, e.name() + ": no setuid/setgid");
            if (!e.name().equals("home/splitllm")) assertEquals(0, e.uid(), e.name() + " is root-owned (read-only for the user)");
            if (!e.symlink() && !e.name().equals("tmp")) assertEquals(0, e.mode() & 02, e.name() + " is not world-writable");
        }
        // The model, where -Dsplitllm.cache points, with the fetcher's markers.
        String cache = entry.stream().filter(a -> a.startsWith("-Dsplitllm.cache=")).findFirst().orElseThrow().substring(17);
        String modelDir = cache.substring(1) + "/" + ModelStore.STORIES15M + "/";
        ModelSpec s = ModelSpec.STORIES15M;
        // The fetcher's marker (sha256, size, mtime): its sha256 is the spec's, its size the stored file's.
        for (String[] file : new String[][] {{s.modelFile(), s.modelSha256()}, {s.tokenizerFile(), s.tokenizerSha256()}}) {
            Entry e = f.get(modelDir + file[0]);
            assertNotNull(e, modelDir + file[0]);
            assertTrue(e.size() > 0);
            assertEquals(file[1] + " " + e.size() + " " + TarWriter.MTIME * 1000 + "\n",
                    new String(f.get(modelDir + file[0] + ".verified").small(), StandardCharsets.US_ASCII));
        }
        System.out.printf("image: %s, %.1f MB, %d layers, %d files%n", tar.getFileName(), Files.size(tar) / 1e6,
                img.layers().size(), f.size());
    }

    /**
     * The image runs: its layers extracted in order into a root folder, the entrypoint started
     * under chroot as the image's user with the image's Env (as a runtime would, with /proc and
     * /dev mounted in a private mount namespace), serve answers health, and an edge session
     * generates through it. Needs root, unshare and chroot (skipped otherwise).
     */
    @Test
    void builtImageServesAnEdgeSession(@TempDir Path dir) throws Exception {
        Path tar = imageOrSkip();
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")) && Files.isExecutable(Paths.get("/usr/sbin/chroot"))
                && Files.isExecutable(Paths.get("/usr/bin/unshare")), "running the image needs root, unshare and chroot");
        Image img = read(tar, dir.resolve("blobs"));
        Path root = dir.resolve("rootfs");
        Files.createDirectories(root.resolve("proc"));
        Files.createDirectories(root.resolve("dev"));
        for (JsonNode l : img.manifest().path("layers")) {
            run(List.of("tar", "-xzf", img.blobFiles().get(l.path("digest").asText()).toString(), "-C", root.toString()));
        }
        JsonNode cfg = img.config().path("config");
        int port = ChaosTest.freePort();
        List<String> argv = new ArrayList<>(List.of("/usr/sbin/chroot", "--userspec=" + cfg.path("User").asText(), root.toString()));
        argv.addAll(strings(cfg.path("Entrypoint")));
        argv.addAll(List.of("serve", "--host", "127.0.0.1", "--port", String.valueOf(port), "--threads", "1"));
        StringBuilder env = new StringBuilder("env -i");
        for (String e : strings(cfg.path("Env"))) env.append(' ').append(shellQuote(e));
        env.append(" SPLITLLM_TOKENS=image-token");
        String script = "mount -t proc proc " + root + "/proc && mount --rbind /dev " + root + "/dev && exec " + env + " "
                + String.join(" ", argv.stream().map(ImageTest::shellQuote).toList());
        Path log = dir.resolve("serve.log");
        Process p = new ProcessBuilder("/usr/bin/unshare", "--mount", "--pid", "--fork", "sh", "-c", script)
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ProcessHandle server = null;
        try {
            ChaosTest.awaitHealth(port, p, 120);
            // The server runs as the image's user, not root.
            server = p.descendants().filter(h -> h.info().command().orElse("").endsWith("/java")).findFirst().orElseThrow();
            String status = Files.readString(Paths.get("/proc", String.valueOf(server.pid()), "status"));
            Matcher uid = Pattern.compile("(?m)^Uid:\\s+(\\d+)").matcher(status);
            assertTrue(uid.find());
            assertEquals(cfg.path("User").asText().split(":")[0], uid.group(1));
            assertNotEquals("0", uid.group(1));

            Path m = ModelStore.stories15MDir();
            try (EdgeModel model = EdgeModel.load(m.resolve("stories15M.bin"), m.resolve("tokenizer.bin"), 3, 1);
                 EdgeSession s = EdgeSession.open(model, EdgeOptions.defaults(URI.create("http://127.0.0.1:" + port), "image-token")
                         .withMaxSeqLen(64).withDeadlines(Duration.ofSeconds(20), Duration.ofSeconds(60)))) {
                GenerationResult r = s.generate("Once upon a time", 16, true, (id, text, st) -> { });
                assertEquals(16, r.tokens().length);
                System.out.println("image: served an edge session as uid " + uid.group(1) + ": \"Once upon a time" + r.text() + "\"");
            }
            // The image's StopSignal, as a runtime sends it to stop the container: serve drains and ends.
            long t0 = System.nanoTime();
            server.destroy();
            assertNotNull(server.onExit().completeOnTimeout(null, 30, TimeUnit.SECONDS).join(), "serve ends on SIGTERM");
            System.out.printf("image: serve ended %.1f s after SIGTERM%n", (System.nanoTime() - t0) / 1e9);
        } finally {
            // By handle: the server (its uid changed, so unshare's death signal would not reach it), then unshare.
            if (server != null && server.isAlive()) server.destroyForcibly();
            if (!p.waitFor(30, TimeUnit.SECONDS)) p.destroyForcibly();
            System.out.println(Files.readString(log));
        }
    }

    // ---------------------------------------------------------------- checks and reading

    /** The config against the Deployment (deploy/k8s/deployment.yaml) and the real serve command. */
    static void checkConfig(JsonNode image, String tag) throws IOException {
        assertEquals("linux", image.path("os").asText());
        assertEquals("amd64", image.path("architecture").asText());
        JsonNode cfg = image.path("config");
        JsonNode pod = ManifestTest.manifests().get("Deployment").path("spec").path("template").path("spec");
        JsonNode c = pod.path("containers").get(0);
        assertEquals("splitllm:" + tag, c.path("image").asText(), "the Deployment runs this image");

        // Non-root, numeric (Kubernetes' runAsNonRoot can only verify a numeric user), the pod's uid/gid.
        String[] user = cfg.path("User").asText().split(":");
        assertEquals(2, user.length, "User is uid:gid");
        assertTrue(Long.parseLong(user[0]) > 0 && Long.parseLong(user[1]) > 0, "non-root user " + cfg.path("User"));
        assertEquals(pod.path("securityContext").path("runAsUser").asLong(), Long.parseLong(user[0]));
        assertEquals(pod.path("securityContext").path("runAsGroup").asLong(), Long.parseLong(user[1]));

        // Exposed port = containerPort = serve's default --port = the Cmd's --port.
        int containerPort = c.path("ports").get(0).path("containerPort").asInt();
        List<String> ports = new ArrayList<>();
        cfg.path("ExposedPorts").fieldNames().forEachRemaining(ports::add);
        assertEquals(List.of(containerPort + "/tcp"), ports);
        CommandLine serveLine = new CommandLine(new ServeCommand());
        assertEquals(String.valueOf(containerPort), serveLine.getCommandSpec().findOption("--port").defaultValue(),
                "serve's default port");

        // Entrypoint = the JVM and Main; Cmd (replaced by the Deployment's args) = a real serve line.
        List<String> entry = strings(cfg.path("Entrypoint"));
        assertTrue(entry.get(0).startsWith("/") && entry.get(0).endsWith("/bin/java"), entry.toString());
        assertEquals("dev.splitllm.cli.Main", entry.get(entry.size() - 1));
        assertEquals("jdk.incubator.vector", entry.get(entry.indexOf("--add-modules") + 1));
        assertTrue(entry.contains("-Dai.djl.offline=true"));
        assertTrue(entry.stream().anyMatch(a -> a.startsWith("-Dsplitllm.cache=/")), "the model comes from the image");
        List<String> cmd = strings(cfg.path("Cmd"));
        assertEquals("serve", cmd.get(0));
        CommandLine.ParseResult parsed = new CommandLine(new ServeCommand()).parseArgs(cmd.subList(1, cmd.size()).toArray(new String[0]));
        assertEquals(containerPort, (int) parsed.matchedOptionValue("--port", 0));
        assertEquals("0.0.0.0", parsed.matchedOptionValue("--host", ""), "reachable from outside the container");
        assertFalse(c.has("command"), "the Deployment keeps the image's entrypoint");
        assertEquals("serve", c.path("args").get(0).asText(), "the Deployment's args are a serve line after the entrypoint");

        List<String> env = strings(cfg.path("Env"));
        assertTrue(env.contains("OPT_OUT_TRACKING=true"), env.toString());
        String javaHome = env.stream().filter(e -> e.startsWith("JAVA_HOME=")).findFirst().orElseThrow().substring(10);
        assertEquals(javaHome + "/bin/java", entry.get(0));
        assertTrue(env.stream().anyMatch(e -> e.startsWith("PATH=" + javaHome + "/bin:")));
        assertTrue(cfg.path("WorkingDir").asText().startsWith("/"));
        assertEquals("SIGTERM", cfg.path("StopSignal").asText(), "SIGTERM drains");
        assertEquals(tag, cfg.path("Labels").path("org.opencontainers.image.version").asText());
    }

    /**
     * Reads an OCI archive: every blob's sha256 must equal its file name; index.json → manifest →
     * config by digest with matching sizes and media types; each layer's uncompressed sha256 must
     * equal its diff_id. Blobs are copied to {@code blobDir} for a second pass over the layers.
     */
    static Image read(Path archive, Path blobDir) throws IOException {
        Files.createDirectories(blobDir);
        Map<String, Path> blobs = new HashMap<>();
        Map<String, byte[]> meta = new HashMap<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new BufferedInputStream(Files.newInputStream(archive), 1 << 16))) {
            for (TarArchiveEntry e; (e = in.getNextEntry()) != null; ) {
                if (e.isDirectory()) continue;
                String name = e.getName();
                if (name.startsWith("blobs/sha256/")) {
                    String digest = "sha256:" + name.substring(13);
                    Path file = blobDir.resolve(name.substring(13));
                    MessageDigest sha = sha256();
                    try (OutputStream out = Files.newOutputStream(file)) {
                        new DigestInputStream(in, sha).transferTo(out);
                    }
                    assertEquals(digest, "sha256:" + HexFormat.of().formatHex(sha.digest()), name + ": content matches its digest");
                    blobs.put(digest, file);
                } else {
                    meta.put(name, in.readAllBytes());
                }
            }
        }
        assertEquals("1.0.0", JSON.readTree(meta.get("oci-layout")).path("imageLayoutVersion").asText());
        JsonNode index = JSON.readTree(meta.get("index.json"));
        assertEquals(2, index.path("schemaVersion").asInt());
        assertEquals(1, index.path("manifests").size());
        JsonNode manifest = JSON.readTree(blob(blobs, index.path("manifests").get(0), OciArchive.MANIFEST_TYPE));
        assertEquals(2, manifest.path("schemaVersion").asInt());
        JsonNode config = JSON.readTree(blob(blobs, manifest.path("config"), OciArchive.CONFIG_TYPE));
        JsonNode diffIds = config.path("rootfs").path("diff_ids");
        assertEquals("layers", config.path("rootfs").path("type").asText());
        assertEquals(manifest.path("layers").size(), diffIds.size());
        assertEquals(manifest.path("layers").size(), config.path("history").size());
        List<List<Entry>> layers = new ArrayList<>();
        for (int i = 0; i < manifest.path("layers").size(); i++) {
            JsonNode d = manifest.path("layers").get(i);
            blob(blobs, d, OciArchive.LAYER_TYPE); // size and presence
            MessageDigest sha = sha256();
            List<Entry> entries = new ArrayList<>();
            try (DigestInputStream plain = new DigestInputStream(new GZIPInputStream(Files.newInputStream(blobs.get(d.path("digest").asText())), 1 << 16), sha);
                 TarArchiveInputStream tar = new TarArchiveInputStream(plain)) {
                for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                    byte[] small = e.isFile() && e.getSize() < 65536 ? tar.readAllBytes() : null;
                    String name = e.getName().replaceAll("/$", "");
                    assertFalse(name.startsWith("/") || name.contains(".."), "relative, no '..': " + name);
                    assertEquals(TarWriter.MTIME, e.getModTime().getTime() / 1000, name + ": fixed mtime");
                    entries.add(new Entry(name, e.getMode() & 07777, e.getLongUserId(), e.getLongGroupId(), e.getSize(),
                            e.isDirectory(), e.isSymbolicLink(), e.getLinkName(), small));
                }
                plain.transferTo(OutputStream.nullOutputStream()); // the end-of-archive blocks count for the diff_id
            }
            assertEquals(diffIds.get(i).asText(), "sha256:" + HexFormat.of().formatHex(sha.digest()), "layer " + i + " diff_id");
            layers.add(entries);
        }
        return new Image(index, manifest, config, layers, blobs);
    }

    private static byte[] blob(Map<String, Path> blobs, JsonNode descriptor, String mediaType) throws IOException {
        assertEquals(mediaType, descriptor.path("mediaType").asText());
        Path file = blobs.get(descriptor.path("digest").asText());
        assertNotNull(file, "blob " + descriptor.path("digest") + " is in the archive");
        assertEquals(descriptor.path("size").asLong(), Files.size(file), descriptor.path("digest") + " size");
        return Files.size(file) < (1 << 20) ? Files.readAllBytes(file) : null;
    }

    private static Path imageOrSkip() {
        String p = System.getProperty("splitllm.image", "");
        Assumptions.assumeTrue(!p.isBlank(), "the real image is checked with -Dsplitllm.image=PATH (scripts/build-image.sh)");
        Path tar = Paths.get(p).toAbsolutePath();
        assertTrue(Files.isRegularFile(tar), "no image at " + tar + ": run scripts/build-image.sh");
        return tar;
    }

    /** The project version (deploy/pom.xml's parent), which is the image tag. */
    static String projectVersion() throws IOException {
        Matcher m = Pattern.compile("<parent>.*?<version>([^<]+)</version>", Pattern.DOTALL).matcher(Files.readString(Paths.get("pom.xml")));
        assertTrue(m.find());
        return m.group(1).replace("-SNAPSHOT", "");
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String shellQuote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        assertEquals(0, p.waitFor(), cmd + ": " + out);
    }
}
