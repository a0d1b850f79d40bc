package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The layout of docs/ARCHITECTURE.md, checked on the sources of every module: no package cycle
 * anywhere, the runtime core (engine, quantization, edge-agent) imports nothing host-only, and the
 * Vector API stays behind the engine's kernel provider.
 */
class ArchitectureTest {
    private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([a-z][\\w]*(?:\\.[a-z][\\w]*)*)\\.[A-Z]", Pattern.MULTILINE);

    /** The repository root: surefire runs a module's tests in the module's folder. */
    private static Path root() {
        Path here = Path.of("").toAbsolutePath();
        Path root = Files.exists(here.resolve("cli")) ? here : here.getParent();
        assertTrue(Files.isRegularFile(root.resolve("pom.xml")) && Files.isDirectory(root.resolve("engine")),
                "repository root not found from " + here);
        return root;
    }

    /** One main source file: module, package, imported packages. */
    private record Source(String module, Path file, String pkg, Set<String> imports) {}

    private static List<Source> sources() {
        List<Source> out = new ArrayList<>();
        try (Stream<Path> modules = Files.list(root())) {
            for (Path m : modules.filter(p -> Files.isDirectory(p.resolve("src/main/java"))).toList()) {
                try (Stream<Path> files = Files.walk(m.resolve("src/main/java"))) {
                    for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                        String text = Files.readString(f);
                        Matcher pm = PACKAGE.matcher(text);
                        if (!pm.find()) {
                            continue; // package-less files (none expected) cannot form cycles
                        }
                        Set<String> imports = new TreeSet<>();
                        Matcher im = IMPORT.matcher(text);
                        while (im.find()) {
                            imports.add(im.group(1));
                        }
                        out.add(new Source(m.getFileName().toString(), f, pm.group(1), imports));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertTrue(out.size() > 200, "expected the whole source tree, read " + out.size() + " files");
        return out;
    }

    @Test
    void noPackageCycles() {
        Map<String, Set<String>> graph = new TreeMap<>();
        for (Source s : sources()) {
            Set<String> deps = graph.computeIfAbsent(s.pkg(), k -> new TreeSet<>());
            for (String i : s.imports()) {
                if (i.startsWith("dev.splitllm.") && !i.equals(s.pkg())) {
                    deps.add(i);
                }
            }
        }
        List<List<String>> cycles = stronglyConnected(graph);
        assertEquals(List.of(), cycles, "package cycles (each list is one strongly connected set)");
    }

    @Test
    void runtimeCoreImportsNothingHostOnly() {
        Set<String> deviceModules = Set.of("quantization", "engine", "edge-agent");
        List<String> hostOnly = List.of("dev.splitllm.eval", "dev.splitllm.tools", "dev.splitllm.fetch", "dev.splitllm.optimizer",
                "dev.splitllm.cloud", "dev.splitllm.cli", "dev.splitllm.engine.onnx", "dev.splitllm.chat", "io.javalin", "org.eclipse.jetty",
                "picocli", "ai.djl", "ai.onnxruntime", "com.hubspot");
        List<String> bad = new ArrayList<>();
        for (Source s : sources()) {
            if (!deviceModules.contains(s.module())) {
                continue;
            }
            for (String prefix : hostOnly) {
                if (s.pkg().startsWith(prefix)) {
                    bad.add(s.file() + " is in host-only package " + s.pkg());
                }
                for (String i : s.imports()) {
                    // The optional DJL tokenizer is loaded by name and lives in its own package.
                    if (i.startsWith(prefix) && !(prefix.equals("ai.djl") && s.pkg().equals("dev.splitllm.engine.hf.djl"))) {
                        bad.add(s.file() + " imports " + i);
                    }
                }
            }
        }
        assertEquals(List.of(), bad);
    }

    @Test
    void vectorApiOnlyBehindTheKernelProvider() {
        List<String> bad = new ArrayList<>();
        for (Source s : sources()) {
            boolean usesVector = s.imports().stream().anyMatch(i -> i.startsWith("jdk.incubator.vector"));
            if (usesVector && !s.pkg().equals("dev.splitllm.engine.kernels.vector")) {
                bad.add(s.file().toString());
            }
        }
        assertEquals(List.of(), bad, "the Vector API is loaded reflectively from engine.kernels.vector only (Android has none)");
    }

    /** Tarjan's algorithm; returns the components of more than one package. */
    private static List<List<String>> stronglyConnected(Map<String, Set<String>> graph) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new TreeSet<>();
        List<List<String>> out = new ArrayList<>();
        int[] counter = {0};
        for (String v : graph.keySet()) {
            if (!index.containsKey(v)) {
                connect(v, graph, index, low, stack, onStack, out, counter);
            }
        }
        return out;
    }

    private static void connect(String v, Map<String, Set<String>> graph, Map<String, Integer> index, Map<String, Integer> low,
                                Deque<String> stack, Set<String> onStack, List<List<String>> out, int[] counter) {
        index.put(v, counter[0]);
        low.put(v, counter[0]++);
        stack.push(v);
        onStack.add(v);
        for (String w : graph.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                connect(w, graph, index, low, stack, onStack, out, counter);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            List<String> component = new ArrayList<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (!w.equals(v));
            if (component.size() > 1) {
                component.sort(null);
                out.add(component);
            }
        }
    }
}
