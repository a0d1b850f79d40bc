package dev.splitllm.engine.gguf;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.ModelFormatException;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.tokenizer.Tokenizer;
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

/**
 * Malformed GGUF files are rejected with a {@link ModelFormatException} that names the problem:
 * hand-made cases for each check, then a seeded fuzz loop over thousands of mutations of a tiny
 * valid model, where any other outcome (another exception, an OutOfMemoryError, a hang) fails.
 */
class MalformedGgufTest {
    @TempDir
    Path tmp;

    /** A tiny valid llama GGUF with a SentencePiece-style tokenizer (about 7 KB). */
    static byte[] tinyModel(Path tmp) throws Exception {
        int d = 32, v = 8;
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.ofString("llama"));
        w.put("llama.embedding_length", GgufValue.ofUInt32(d));
        w.put("llama.feed_forward_length", GgufValue.ofUInt32(d));
        w.put("llama.block_count", GgufValue.ofUInt32(1));
        w.put("llama.attention.head_count", GgufValue.ofUInt32(2));
        w.put("llama.attention.head_count_kv", GgufValue.ofUInt32(1));
        w.put("llama.context_length", GgufValue.ofUInt32(16));
        w.put("t.nested", new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY,
                new GgufValue[] {GgufValue.ofInts(GgufValueType.UINT8, new long[] {1, 2})}));
        w.put("tokenizer.ggml.model", GgufValue.ofString("llama"));
        w.put("tokenizer.ggml.tokens", GgufValue.ofStrings(new String[] {"<unk>", "<s>", "</s>", "<0x41>", "▁a", "b", "▁ab", "c"}));
        w.put("tokenizer.ggml.scores", GgufValue.ofFloats(new double[] {0, 0, 0, 0, -1, -2, -0.5, -3}));
        w.put("tokenizer.ggml.token_type", GgufValue.ofInts(GgufValueType.INT32, new long[] {2, 3, 3, 6, 1, 1, 1, 1}));
        w.put("tokenizer.ggml.bos_token_id", GgufValue.ofUInt32(1));
        w.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(2));
        Random r = new Random(5);
        w.tensor("token_embd.weight", new long[] {d, v}, GgmlType.F32, () -> floats(r, d * v));
        w.tensor("output_norm.weight", new long[] {d}, GgmlType.F32, () -> floats(r, d));
        w.tensor("blk.0.attn_norm.weight", new long[] {d}, GgmlType.F32, () -> floats(r, d));
        w.tensor("blk.0.ffn_norm.weight", new long[] {d}, GgmlType.F16, () -> new byte[2 * d]);
        w.tensor("blk.0.attn_q.weight", new long[] {d, d}, GgmlType.Q8_0, () -> q8(r, d * d));
        w.tensor("blk.0.attn_k.weight", new long[] {d, 16}, GgmlType.Q4_0, () -> new byte[16 * 18]);
        w.tensor("blk.0.attn_v.weight", new long[] {d, 16}, GgmlType.Q8_0, () -> q8(r, 16 * d));
        w.tensor("blk.0.attn_output.weight", new long[] {d, d}, GgmlType.Q8_0, () -> q8(r, d * d));
        w.tensor("blk.0.ffn_gate.weight", new long[] {d, d}, GgmlType.BF16, () -> new byte[2 * d * d]);
        w.tensor("blk.0.ffn_up.weight", new long[] {d, d}, GgmlType.Q4_0, () -> new byte[d * 18]);
        w.tensor("blk.0.ffn_down.weight", new long[] {d, d}, GgmlType.Q8_0, () -> q8(r, d * d));
        Path p = tmp.resolve("tiny.gguf");
        w.write(p);
        return Files.readAllBytes(p);
    }

    static byte[] floats(Random r, int n) {
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) b.putFloat((float) r.nextGaussian());
        return b.array();
    }

    static byte[] q8(Random r, int n) {
        byte[] b = new byte[n / 32 * 34];
        r.nextBytes(b);
        for (int i = 0; i < b.length; i += 34) { b[i] = 0x00; b[i + 1] = 0x20; } // scale 2^-7
        return b;
    }

    /** Opens, loads everything and tokenizes; returns null on success or the rejection. */
    static ModelFormatException tryLoad(Path p) throws Exception {
        try (ModelSource src = ModelFiles.open(p)) {
            src.load(ModelSlice.all(src.config().nLayers()));
            Tokenizer t = src.tokenizer();
            if (t != null) t.decode(t.encode("ab cA", true));
            return null;
        } catch (ModelFormatException e) {
            return e;
        }
    }

    ModelFormatException rejected(byte[] data, String expect) throws Exception {
        Path p = Files.write(tmp.resolve("bad.gguf"), data);
        ModelFormatException e = tryLoad(p);
        assertNotNull(e, "accepted a file that should fail with: " + expect);
        assertTrue(e.getMessage().contains(expect), "message '" + e.getMessage() + "' should mention '" + expect + "'");
        assertTrue(e.getMessage().contains("bad.gguf"), e.getMessage());
        return e;
    }

    @Test
    void tinyModelIsValidInVersions2And3() throws Exception {
        byte[] v3 = tinyModel(tmp);
        assertNull(tryLoad(Files.write(tmp.resolve("ok.gguf"), v3)));
        byte[] v2 = v3.clone();
        v2[4] = 2; // v2 has the same layout (64-bit counts and lengths)
        Path p = Files.write(tmp.resolve("v2.gguf"), v2);
        assertNull(tryLoad(p));
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(2, f.version());
        }
    }

    @Test
    void handMadeDefectsAreNamed() throws Exception {
        byte[] good = tinyModel(tmp);
        rejected(Arrays.copyOf(good, 10), "too short");
        rejected(Arrays.copyOf(good, 100), "truncated");
        rejected(Arrays.copyOf(good, good.length - 1), "extends past the end of the file");
        byte[] v1 = good.clone(); v1[4] = 1;
        rejected(v1, "version 1");
        byte[] be = good.clone(); be[4] = 0; be[7] = 3;
        rejected(be, "big-endian");
        byte[] hugeTensors = good.clone();
        ByteBuffer.wrap(hugeTensors).order(ByteOrder.LITTLE_ENDIAN).putLong(8, Long.MAX_VALUE);
        rejected(hugeTensors, "tensor count");
        byte[] manyKv = good.clone();
        ByteBuffer.wrap(manyKv).order(ByteOrder.LITTLE_ENDIAN).putLong(16, 1_000_000);
        rejected(manyKv, "truncated: metadata count");
        // The first key's length (at byte 24): absurd.
        byte[] longKey = good.clone();
        ByteBuffer.wrap(longKey).order(ByteOrder.LITTLE_ENDIAN).putLong(24, 1L << 40);
        rejected(longKey, "length");
        // The first value's type (after the 20-byte key "general.architecture").
        byte[] badType = good.clone();
        ByteBuffer.wrap(badType).order(ByteOrder.LITTLE_ENDIAN).putInt(24 + 8 + 20, 77);
        rejected(badType, "unknown value type 77");
        byte[] badArch = replace(good, "llama", "gpt9x");
        rejected(badArch, "architecture 'gpt9x' is not supported");
    }

    @Test
    void tensorInfoDefectsAreNamed() throws Exception {
        byte[] good = tinyModel(tmp);
        int at = indexOf(good, "blk.0.attn_q.weight".getBytes(StandardCharsets.UTF_8)) + 19; // after the name
        ByteBuffer b;
        byte[] dims = good.clone();
        ByteBuffer.wrap(dims).order(ByteOrder.LITTLE_ENDIAN).putInt(at, 9);
        rejected(dims, "9 dimensions");
        byte[] hugeDim = good.clone();
        ByteBuffer.wrap(hugeDim).order(ByteOrder.LITTLE_ENDIAN).putLong(at + 4, 1L << 39);
        rejected(hugeDim, "more than 2^40 elements");
        byte[] zeroDim = good.clone();
        ByteBuffer.wrap(zeroDim).order(ByteOrder.LITTLE_ENDIAN).putLong(at + 4, 0);
        rejected(zeroDim, "invalid dimension 0");
        byte[] unknownType = good.clone();
        ByteBuffer.wrap(unknownType).order(ByteOrder.LITTLE_ENDIAN).putInt(at + 20, 99);
        rejected(unknownType, "unknown ggml type 99");
        byte[] q5 = good.clone();
        ByteBuffer.wrap(q5).order(ByteOrder.LITTLE_ENDIAN).putInt(at + 20, 6); // Q5_0: known, not loadable
        rejected(q5, "Q5_0, which is not supported");
        byte[] farOffset = good.clone();
        b = ByteBuffer.wrap(farOffset).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(at + 24, 1L << 40);
        rejected(farOffset, "extends past the end of the file");
        byte[] misaligned = good.clone();
        ByteBuffer.wrap(misaligned).order(ByteOrder.LITTLE_ENDIAN).putLong(at + 24, 33);
        rejected(misaligned, "alignment");
    }

    @Test
    void fuzzedFilesFailCleanly() throws Exception {
        byte[] good = tinyModel(tmp);
        int header = indexOf(good, "blk.0.ffn_down.weight".getBytes(StandardCharsets.UTF_8)) + 60;
        long[] extremes = {-1L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 31, 1L << 32, 0xFFFFFFFFL, 1L << 62, 0};
        int[] outcome = new int[2];
        assertTimeoutPreemptively(Duration.ofSeconds(240), () -> {
            Random r = new Random(20261127);
            for (int i = 0; i < 2500; i++) {
                byte[] m = good.clone();
                int kind = r.nextInt(5);
                switch (kind) {
                    case 0: for (int k = 1 + r.nextInt(4); k > 0; k--) m[r.nextInt(header)] ^= (byte) (1 << r.nextInt(8)); break;
                    case 1: {
                        int at = r.nextInt(header - 8);
                        ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putLong(at, extremes[r.nextInt(extremes.length)]);
                        break;
                    }
                    case 2: m = Arrays.copyOf(m, r.nextInt(m.length)); break;
                    case 3: for (int k = 1 + r.nextInt(8); k > 0; k--) m[r.nextInt(m.length)] = (byte) r.nextInt(256); break;
                    default: {
                        int at = r.nextInt(header - 4);
                        ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putInt(at, r.nextInt(40));
                        break;
                    }
                }
                Path p = tmp.resolve("fuzz-" + i + ".gguf");
                Files.write(p, m);
                try {
                    ModelFormatException e = tryLoad(p);
                    if (e != null) {
                        assertTrue(e.getMessage() != null && e.getMessage().contains(p.getFileName().toString()),
                                "iteration " + i + ": message should name the file: " + e.getMessage());
                        outcome[1]++;
                    } else {
                        outcome[0]++;
                    }
                } catch (Throwable t) {
                    fail("iteration " + i + " (mutation " + kind + "): " + t, t);
                } finally {
                    Files.deleteIfExists(p);
                }
            }
        });
        System.out.printf("GGUF fuzz: %d mutated files, %d loaded, %d rejected with ModelFormatException%n",
                outcome[0] + outcome[1], outcome[0], outcome[1]);
        assertTrue(outcome[1] > 1000, "too few rejections for a meaningful fuzz: " + outcome[1]);
    }

    static byte[] replace(byte[] data, String from, String to) {
        byte[] f = from.getBytes(StandardCharsets.UTF_8), t = to.getBytes(StandardCharsets.UTF_8);
        int i = indexOf(data, f);
        assertTrue(i >= 0, from);
        byte[] out = data.clone();
        System.arraycopy(t, 0, out, i, t.length);
        return out;
    }

    static int indexOf(byte[] data, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= data.length; i++) {
            for (int j = 0; j < needle.length; j++) if (data[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}
