package dev.splitllm.tools.oracle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * llama.cpp (the pinned node-llama-cpp build) as an independent oracle, through
 * {@code scripts/llama-cpp/oracle.mjs}: one JSON request per call. Available only where
 * {@code SPLITLLM_LLAMA_CPP} names the folder {@code scripts/llama-cpp/install.sh} printed
 * ({@code scripts/oracle-tests.sh} sets it); tests skip otherwise.
 */
public final class LlamaCppOracle {
    public static final ObjectMapper JSON = new ObjectMapper();

    private LlamaCppOracle() {}

    /** Skips the calling test unless the oracle is installed. */
    public static void assumeAvailable() {
        String dir = System.getenv("SPLITLLM_LLAMA_CPP");
        Assumptions.assumeTrue(dir != null && Files.isDirectory(Path.of(dir, "node_modules", "node-llama-cpp")),
                "llama.cpp oracle not installed: run scripts/oracle-tests.sh (sets SPLITLLM_LLAMA_CPP)");
    }

    /** The script, found from the module directory or the repository root. */
    static Path script() {
        for (Path p : new Path[] {Path.of("../scripts/llama-cpp/oracle.mjs"), Path.of("scripts/llama-cpp/oracle.mjs")}) {
            if (Files.isRegularFile(p)) return p.toAbsolutePath().normalize();
        }
        throw new IllegalStateException("scripts/llama-cpp/oracle.mjs not found from " + Path.of("").toAbsolutePath());
    }

    /** Runs one request (see oracle.mjs) and returns the reply. */
    public static JsonNode call(ObjectNode request, Path work) throws IOException, InterruptedException {
        Path req = Files.createTempFile(work, "oracle", ".json");
        Files.writeString(req, JSON.writeValueAsString(request));
        Path out = Files.createTempFile(work, "oracle", ".out"), err = Files.createTempFile(work, "oracle", ".err");
        Process p = new ProcessBuilder("node", script().toString(), req.toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("oracle.mjs timed out");
        }
        if (p.exitValue() != 0) {
            throw new IOException("oracle.mjs failed (" + p.exitValue() + "): " + Files.readString(err, StandardCharsets.UTF_8));
        }
        return JSON.readTree(out.toFile());
    }

    /** Reads the float32 log-probabilities the script wrote: rows x vocab. */
    public static float[][] readRows(Path file, int rows, int vocab) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() != rows * vocab * 4) {
            throw new IOException(file + ": " + b.remaining() + " bytes, expected " + rows + " x " + vocab + " floats");
        }
        float[][] out = new float[rows][vocab];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < vocab; j++) out[i][j] = b.getFloat();
        }
        return out;
    }

    public static int[] ints(JsonNode array) {
        int[] a = new int[array.size()];
        for (int i = 0; i < a.length; i++) a[i] = array.get(i).asInt();
        return a;
    }
}
