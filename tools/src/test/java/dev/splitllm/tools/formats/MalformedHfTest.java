package dev.splitllm.tools.formats;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.ModelFormatException;
import dev.splitllm.engine.model.ModelSlice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken Hugging Face directories (config.json, safetensors, index) fail with a message naming the problem. */
class MalformedHfTest {
    @TempDir
    Path tmp;

    Path good() throws Exception {
        Path dir = tmp.resolve("hf" + System.nanoTime());
        new ReferenceModel(32, 32, 1, 2, 1, 20, false, true, true, 3).writeHf(dir, "llama", 1);
        return dir;
    }

    static ModelFormatException rejected(Path dir, String expect) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelFiles.load(dir, ModelSlice.all(1)));
        assertTrue(e.getMessage().contains(expect), "'" + e.getMessage() + "' should mention '" + expect + "'");
        return e;
    }

    @Test
    void badConfigs() throws Exception {
        Path d = good();
        String cfg = Files.readString(d.resolve("config.json"));
        Files.writeString(d.resolve("config.json"), cfg.replace("\"llama\"", "\"gpt_neox\""));
        rejected(d, "model_type 'gpt_neox' is not supported");
        Files.writeString(d.resolve("config.json"), cfg.replace("\"hidden_size\":32", "\"hidden_size\":-4"));
        rejected(d, "'hidden_size' = -4 is out of range");
        Files.writeString(d.resolve("config.json"), cfg.replace("\"num_attention_heads\":2", "\"num_attention_heads\":3"));
        rejected(d, "n_heads");
        Files.writeString(d.resolve("config.json"), "{not json");
        rejected(d, "not valid JSON");
        Files.writeString(d.resolve("config.json"), cfg.replace("\"vocab_size\":20", "\"vocab_size\":21"));
        rejected(d, "has shape [20, 32], expected [21, 32]");
    }

    @Test
    void badSafetensors() throws Exception {
        Path d = good();
        Path st = d.resolve("model.safetensors");
        byte[] data = Files.readAllBytes(st);
        Files.write(st, Arrays.copyOf(data, data.length - 1));
        rejected(d, "lie outside the data section");
        byte[] huge = data.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE);
        Files.write(st, huge);
        rejected(d, "header length");
        Files.write(st, new byte[5]);
        rejected(d, "too short");
        String header = new String(data, 8, (int) ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).getLong(0), StandardCharsets.UTF_8);
        Files.write(st, withHeader(data, header.replaceFirst("\"F32\"", "\"Q9\" ")));
        rejected(d, "unknown dtype 'Q9'");
        Files.write(st, withHeader(data, header.replaceFirst("\"F32\"", "\"I32\"")));
        rejected(d, "dtype I32 (supported: F32, F16, BF16)");
        Files.write(st, withHeader(data, header.replaceFirst("\\[20,32\\]", "[20,33]")));
        rejected(d, "needs");
        Files.write(st, withHeader(data, header.replaceFirst("\\{", "[")));
        rejected(d, "not valid JSON");
        Files.delete(st);
        rejected(d, "no .safetensors file");
    }

    @Test
    void badIndex() throws Exception {
        Path d = tmp.resolve("sharded");
        new ReferenceModel(32, 32, 1, 2, 1, 20, false, true, true, 3).writeHf(d, "llama", 2);
        Path index = d.resolve("model.safetensors.index.json");
        String good = Files.readString(index);
        Files.writeString(index, good.replace("model-00002-of-00002", "../../etc/passwd"));
        rejected(d, "invalid shard");
        Files.writeString(index, good.replace("\"model.norm.weight\":\"model-00002", "\"model.norm.weight\":\"model-00001"));
        rejected(d, "is not in shard");
        Files.writeString(index, "{}");
        rejected(d, "no 'weight_map'");
    }

    @Test
    void fuzzedSafetensorsHeadersFailCleanly() throws Exception {
        Path d = good();
        Path st = d.resolve("model.safetensors");
        byte[] data = Files.readAllBytes(st);
        int headerEnd = 8 + (int) ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            Random r = new Random(42);
            int rejected = 0;
            for (int i = 0; i < 500; i++) {
                byte[] m = data.clone();
                for (int k = 1 + r.nextInt(3); k > 0; k--) m[r.nextInt(headerEnd)] = (byte) r.nextInt(128);
                Files.write(st, m);
                try {
                    ModelFiles.load(d, ModelSlice.all(1));
                } catch (ModelFormatException e) {
                    rejected++;
                } catch (Throwable t) {
                    fail("iteration " + i + ": " + t, t);
                }
            }
            assertTrue(rejected > 250, "rejections: " + rejected);
        });
    }

    static byte[] withHeader(byte[] data, String header) {
        long oldLen = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length - 8 - (int) oldLen).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data, 8 + (int) oldLen, data.length - 8 - (int) oldLen);
        return b.array();
    }
}
