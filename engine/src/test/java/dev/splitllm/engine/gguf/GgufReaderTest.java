package dev.splitllm.engine.gguf;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads {@code kquants.gguf}, written by gguf-py (llama.cpp's Python GGUF package, an
 * implementation independent of ours; script beside it): metadata of every value type, nested
 * arrays, and Q4_K / Q6_K tensors whose dequantized values gguf-py stored next to them as F32.
 */
class GgufReaderTest {
    @TempDir
    Path tmp;

    static Path fixture() throws Exception {
        return Path.of(GgufReaderTest.class.getResource("/gguf/kquants.gguf").toURI());
    }

    @Test
    void readsMetadataOfEveryType() throws Exception {
        try (GgufFile f = GgufFile.open(fixture())) {
            assertEquals(3, f.version());
            assertEquals(32, f.alignment());
            assertEquals(200, f.getLong("t.u8", 0));
            assertEquals(-5, f.getLong("t.i8", 0));
            assertEquals(60000, f.getLong("t.u16", 0));
            assertEquals(-3000, f.getLong("t.i16", 0));
            assertEquals(4000000000L, f.getLong("t.u32", 0));
            assertEquals(-123456, f.getLong("t.i32", 0));
            assertEquals(1.5, f.getDouble("t.f32", 0));
            assertEquals(1L << 40, f.getLong("t.u64", 0));
            assertEquals(-(1L << 40), f.getLong("t.i64", 0));
            assertEquals(2.25, f.getDouble("t.f64", 0));
            assertTrue(f.getBool("t.bool", false));
            assertEquals("héllo", f.getString("t.str", null));
            assertArrayEquals(new long[] {1, -2, 3}, f.getLongs("t.arr.i32"));
            assertArrayEquals(new String[] {"a", "bc", ""}, f.getStrings("t.arr.str"));
            assertArrayEquals(new double[] {0.5, -1.0}, f.getDoubles("t.arr.f32"));
            GgufValue nested = f.get("t.arr.nested");
            assertEquals(GgufValueType.ARRAY, nested.elementType());
            GgufValue[] rows = (GgufValue[]) nested.value();
            assertArrayEquals(new long[] {1, 2}, (long[]) rows[0].value());
            assertArrayEquals(new long[] {3}, (long[]) rows[1].value());
            assertEquals("llama", f.getString("general.architecture", null));
            var e = assertThrows(dev.splitllm.engine.ModelFormatException.class, () -> f.getString("t.u8", null));
            assertTrue(e.getMessage().contains("t.u8"), e.getMessage());
        }
    }

    @Test
    void kQuantsDequantizeExactlyLikeGgufPy() throws Exception {
        try (GgufFile f = GgufFile.open(fixture())) {
            GgufTensorLoader loader = new GgufTensorLoader(f);
            for (String name : new String[] {"q4k", "q6k"}) {
                GgufTensorInfo q = f.requireTensor(name), want = f.requireTensor(name + ".expected");
                assertEquals(name.equals("q4k") ? GgmlType.Q4_K : GgmlType.Q6_K, q.type());
                assertArrayEquals(new long[] {512, 3}, q.shape());
                float[] expected = loader.dequantize(want, f.tensorData(want));
                float[] got = loader.dequantize(q, f.tensorData(q));
                assertArrayEquals(expected, got, name);
                float[] row = new float[512];
                dev.splitllm.engine.tensor.WeightMatrix m = loader.matrix(name, 3, 512);
                // Held as the file stores it: same format, same bytes (resident at the file's size).
                assertEquals(q.type().directFormat(), m.format());
                assertEquals(q.byteSize(), m.bytes());
                m.readRow(2, row, 0);
                assertArrayEquals(java.util.Arrays.copyOfRange(expected, 1024, 1536), row, name + " as a matrix");
            }
        }
    }

    @Test
    void writerOutputReadsBack() throws Exception {
        Path p = tmp.resolve("w.gguf");
        GgufWriter w = new GgufWriter();
        w.put("general.alignment", GgufValue.ofUInt32(64));
        w.put("s", GgufValue.ofString("x"));
        w.put("n", new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY,
                new GgufValue[] {GgufValue.ofStrings(new String[] {"p", "q"}), GgufValue.ofInts(GgufValueType.INT8, new long[] {-1})}));
        w.tensor("a", new long[] {3}, GgmlType.F32, () -> new byte[12]);
        w.tensor("b", new long[] {32, 2}, GgmlType.Q8_0, () -> new byte[68]);
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(64, f.alignment());
            assertEquals(0, f.dataStart() % 64);
            assertEquals(64, f.requireTensor("b").offset());
            assertEquals(f.get("n"), new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY,
                    new GgufValue[] {GgufValue.ofStrings(new String[] {"p", "q"}), GgufValue.ofInts(GgufValueType.INT8, new long[] {-1})}));
            assertEquals(f.dataStart() + 192, Files.size(p), "each tensor padded to the alignment, the last included");
        }
    }
}
