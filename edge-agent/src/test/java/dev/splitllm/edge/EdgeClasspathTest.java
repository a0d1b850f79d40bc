package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * The edge SDK carries no host-only tooling: its runtime class path (written by the build's
 * maven-dependency-plugin {@code build-classpath}, runtime scope) holds no jar of the host-only or
 * server modules and no server/CLI/native-runtime library, and no class on it (the engine's
 * included) belongs to the evaluation, tools or model-fetch packages.
 */
class EdgeClasspathTest {
    static final List<String> FORBIDDEN_MODULES = List.of("eval", "tools", "model-fetch", "cloud-server", "optimizer", "engine-onnx");
    static final List<String> FORBIDDEN_LIBRARIES = List.of("javalin", "jetty", "picocli", "djl", "onnxruntime");
    static final List<String> FORBIDDEN_PACKAGES = List.of("dev/splitllm/eval/", "dev/splitllm/tools/", "dev/splitllm/fetch/");
    /** A jar in a Maven repository ({@code .../dev/splitllm/<module>/<version>/...}). */
    private static final Pattern REPO_MODULE = Pattern.compile("/dev/splitllm/([^/]+)/[^/]+/[^/]+\\.jar$");
    /** A reactor module's own output ({@code <module>/target/classes} or {@code <module>/target/<x>.jar}). */
    private static final Pattern REACTOR_MODULE = Pattern.compile("/([^/]+)/target/(classes|[^/]+\\.jar)/?$");

    static List<Path> runtimeClasspath() throws IOException {
        Path file = Path.of(System.getProperty("basedir", "."), "target", "edge-runtime-classpath.txt");
        assertTrue(Files.isRegularFile(file), file + " is written by the build (maven-dependency-plugin build-classpath)");
        List<Path> entries = new ArrayList<>();
        for (String e : Files.readString(file, StandardCharsets.UTF_8).trim().split(java.io.File.pathSeparator)) {
            if (!e.isBlank()) entries.add(Path.of(e.trim()));
        }
        return entries;
    }

    /** The splitllm module an entry belongs to, or null for a third-party jar. */
    static String splitllmModule(Path entry) {
        String p = entry.toString().replace('\\', '/');
        Matcher m = REPO_MODULE.matcher(p);
        if (m.find()) return m.group(1);
        // In a reactor build, a module's classes come from its target/ folder (third-party jars never do).
        m = REACTOR_MODULE.matcher(p);
        return m.find() ? m.group(1) : null;
    }

    @Test
    void noHostOnlyModuleOrServerLibraryIsOnTheRuntimeClasspath() throws IOException {
        List<Path> cp = runtimeClasspath();
        List<String> modules = new ArrayList<>();
        for (Path e : cp) {
            String module = splitllmModule(e);
            if (module != null) modules.add(module);
            String lower = e.toString().toLowerCase(Locale.ROOT);
            for (String lib : FORBIDDEN_LIBRARIES) {
                assertFalse(lower.contains(lib), "the edge SDK must not carry " + lib + ": " + e);
            }
        }
        assertTrue(modules.contains("engine") && modules.contains("quantization"),
                "the class path must hold the engine and quantization, got modules " + modules + " of " + cp);
        for (String m : FORBIDDEN_MODULES) {
            assertFalse(modules.contains(m), "module " + m + " is host-only and must not be on the edge SDK's class path: " + cp);
        }
    }

    @Test
    void noClassOfEvalToolsOrFetchIsOnTheRuntimeClasspath() throws IOException {
        int engineClasses = 0;
        for (Path e : runtimeClasspath()) {
            List<String> names = classNames(e);
            for (String n : names) {
                for (String pkg : FORBIDDEN_PACKAGES) {
                    assertFalse(n.startsWith(pkg), n + " (in " + e + ") belongs to a host-only package");
                }
            }
            if ("engine".equals(splitllmModule(e))) {
                engineClasses = (int) names.stream().filter(n -> n.startsWith("dev/splitllm/engine/")).count();
            }
        }
        assertTrue(engineClasses > 0, "the engine's classes were scanned");
    }

    /** Class file names in a jar or a class directory, as {@code a/b/C.class}. */
    static List<String> classNames(Path entry) throws IOException {
        List<String> out = new ArrayList<>();
        if (Files.isDirectory(entry)) {
            try (Stream<Path> walk = Files.walk(entry)) {
                walk.filter(p -> p.toString().endsWith(".class"))
                        .forEach(p -> out.add(entry.relativize(p).toString().replace('\\', '/')));
            }
        } else if (Files.isRegularFile(entry)) {
            try (ZipFile zip = new ZipFile(entry.toFile())) {
                Enumeration<? extends ZipEntry> en = zip.entries();
                while (en.hasMoreElements()) {
                    String n = en.nextElement().getName();
                    if (n.endsWith(".class")) out.add(n.startsWith("META-INF/versions/") ? n.replaceFirst("^META-INF/versions/\\d+/", "") : n);
                }
            }
        }
        return out;
    }
}
