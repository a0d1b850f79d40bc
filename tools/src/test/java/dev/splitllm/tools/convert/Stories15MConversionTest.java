package dev.splitllm.tools.convert;

import dev.splitllm.engine.GoldenVectorsTest;
import dev.splitllm.engine.QuantizedQualityTest;
import dev.splitllm.engine.TestModel;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.tools.convert.ModelConverter;
import dev.splitllm.engine.gguf.GgufFile;
import dev.splitllm.engine.gguf.GgmlType;
import dev.splitllm.engine.model.LoadedModel;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelFormat;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real stories15M converted by {@link ModelConverter} and read back through
 * {@link ModelFiles}: GGUF f32 and safetensors f32 give bit-identical logits and run.c's greedy
 * tokens; GGUF q8_0 / q4_0 give exactly the logits of the same quantization done in memory, and
 * their distance from f32 is reported. The GGUF tokenizer (from metadata) encodes and decodes
 * like tokenizer.bin.
 */
class Stories15MConversionTest {
    @TempDir
    static Path tmp;

    static final String[] TEXTS = {"Once upon a time", "The little dog ran to the park and", "",
            "Émile said: \"naïve café, 日本語\" 🙂\n\tdone.", "  two  spaces"};

    static ModelWeights viaGguf(WeightFormat type) throws Exception {
        Path out = tmp.resolve("stories15M-" + type.id() + ".gguf");
        if (!Files.exists(out)) {
            ModelConverter.toGguf(TestModel.checkpoint(), out, type);
        }
        return ModelFiles.load(out, ModelSlice.all(6)).weights();
    }

    static float[][] stepLogits(ModelWeights w) {
        return QuantizedQualityTest.teacherForcedLogits(w);
    }

    private static float[][] f32Logits;

    /** The llama2.c F32 model's teacher-forced logits (computed once). */
    static synchronized float[][] f32Logits() {
        if (f32Logits == null) f32Logits = stepLogits(TestModel.full());
        return f32Logits;
    }

    @Test
    void detectsFormatsByContent() throws Exception {
        assertEquals(ModelFormat.LLAMA2C, ModelFiles.detect(TestModel.checkpoint()));
        Path renamed = tmp.resolve("model.safetensors");
        ModelConverter.toGguf(TestModel.checkpoint(), renamed, WeightFormat.Q4_0);
        assertEquals(ModelFormat.GGUF, ModelFiles.detect(renamed), "a GGUF named .safetensors is still GGUF");
        assertEquals(ModelFormat.LLAMA2C, ModelFiles.detect(TestModel.checkpoint()));
    }

    @Test
    void ggufF32IsBitIdentical() throws Exception {
        ModelWeights g = viaGguf(WeightFormat.F32);
        float[][] want = f32Logits(), got = stepLogits(g);
        for (int t = 0; t < want.length; t++) assertArrayEquals(want[t], got[t], "position " + t);
        assertArrayEquals(GoldenVectorsTest.GREEDY_21, QuantizedQualityTest.greedy(g, GoldenVectorsTest.GREEDY_21.length));
        try (GgufFile f = GgufFile.open(tmp.resolve("stories15M-f32.gguf"))) {
            assertEquals(3, f.version());
            assertEquals("llama", f.getString("general.architecture", null));
            assertEquals(GgmlType.F32, f.tensor("blk.5.ffn_down.weight").type());
            assertNull(f.tensor("output.weight"), "tied classifier is written once");
            assertEquals(0, f.dataStart() % 32);
        }
    }

    @Test
    void ggufTokenizerMatchesTokenizerBin() throws Exception {
        viaGguf(WeightFormat.F32);
        Tokenizer want = TestModel.tokenizer();
        Tokenizer got = ModelFiles.load(tmp.resolve("stories15M-f32.gguf"), ModelSlice.edge(0)).tokenizer();
        assertEquals(want.vocabSize(), got.vocabSize());
        assertEquals(want.bos(), got.bos());
        assertEquals(want.eos(), got.eos());
        for (String s : TEXTS) {
            int[] ids = want.encode(s, true);
            assertArrayEquals(ids, got.encode(s, true), s);
            assertEquals(want.decode(ids), got.decode(ids), s);
        }
        assertArrayEquals(GoldenVectorsTest.PROMPT_IDS, got.encode("Once upon a time", true));
    }

    @Test
    void ggufQuantizedEqualsInMemoryQuantization() throws Exception {
        float[][] f32 = f32Logits();
        for (WeightFormat type : new WeightFormat[] {WeightFormat.Q8_0, WeightFormat.Q4_0, WeightFormat.BF16, WeightFormat.Q4_K,
            WeightFormat.Q6_K}) {
            ModelWeights g = viaGguf(type);
            assertEquals(type, g.layer(3).w2().format()); // rows of 768: a k-quant stays one
            assertEquals(type.forRowLength(288), g.tokenEmbedding().format()); // rows of 288: k-quants fall back to q8_0
            assertEquals(type.forRowLength(288), g.layer(3).wq().format());
            float[][] want = stepLogits(ModelQuantizer.apply(TestModel.full(), PrecisionPlan.uniform(type)));
            float[][] got = stepLogits(g);
            for (int t = 0; t < want.length; t++) assertArrayEquals(want[t], got[t], type + " position " + t);
            double[] c = QuantizedQualityTest.compare(f32, got);
            int[] greedy = QuantizedQualityTest.greedy(g, 21);
            int same = 0;
            while (same < 21 && greedy[same] == GoldenVectorsTest.GREEDY_21[same]) same++;
            System.out.printf("GGUF %s vs f32 on stories15M: max |dlogit| %.4f, rms %.4f, teacher-forced top-1 %.3f,"
                    + " mean KL %.6f nats, greedy prefix %d/21%n", type.id(), c[0], c[1], c[2], c[3], same);
            if (type == WeightFormat.Q8_0) {
                assertTrue(c[0] < 0.6 && c[2] == 1.0 && same == 21, "q8_0: " + java.util.Arrays.toString(c) + " greedy " + same);
            } else if (type == WeightFormat.Q4_K || type == WeightFormat.Q6_K) {
                // Only w2 is a k-quant here (the rest falls back to q8_0): close to q8_0's figures.
                assertTrue(c[0] < 4.0 && c[3] < 0.01 && c[2] >= 0.95 && same >= 10, type + ": " + java.util.Arrays.toString(c) + " greedy " + same);
            } else if (type == WeightFormat.Q4_0) {
                assertTrue(c[0] < 8.0 && c[2] >= 0.8 && same >= 5, "q4_0: " + java.util.Arrays.toString(c) + " greedy " + same);
            }
        }
    }

    @Test
    void safetensorsF32IsBitIdenticalAndRoundTrips() throws Exception {
        Path dir = tmp.resolve("hf");
        ModelConverter.toSafetensors(TestModel.checkpoint(), dir, WeightFormat.F32);
        assertTrue(Files.isRegularFile(dir.resolve("config.json")));
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer.bin")));
        LoadedModel m = ModelFiles.load(dir, ModelSlice.all(6));
        assertEquals(ModelFormat.HF_SAFETENSORS, m.format());
        float[][] want = f32Logits(), got = stepLogits(m.weights());
        for (int t = 0; t < want.length; t++) assertArrayEquals(want[t], got[t], "position " + t);
        assertArrayEquals(GoldenVectorsTest.PROMPT_IDS, m.tokenizer().encode("Once upon a time", true));
        // safetensors -> GGUF f32 -> same logits again.
        Path g = tmp.resolve("from-hf.gguf");
        ModelConverter.convert(dir, g, "f32", "gguf");
        float[][] again = stepLogits(ModelFiles.load(g, ModelSlice.all(6)).weights());
        for (int t = 0; t < want.length; t++) assertArrayEquals(want[t], again[t], "position " + t);
    }

    @Test
    void writtenTokenizerJsonEncodesLikeTokenizerBinThroughDjl() throws Exception {
        Path dir = tmp.resolve("hf-tok");
        ModelConverter.toSafetensors(TestModel.checkpoint(), dir, WeightFormat.BF16);
        Files.delete(dir.resolve("tokenizer.bin")); // force the tokenizer.json (DJL) path
        Tokenizer djl = ModelFiles.load(dir, ModelSlice.edge(0)).tokenizer();
        assertEquals("DjlTokenizer", djl.getClass().getSimpleName());
        Tokenizer want = TestModel.tokenizer();
        for (String s : TEXTS) {
            assertArrayEquals(want.encode(s, true), djl.encode(s, true), "with BOS: " + s);
            assertArrayEquals(want.encode(s, false), djl.encode(s, false), "without BOS: " + s);
            assertEquals(want.decode(want.encode(s, true)), djl.decode(djl.encode(s, true)), s);
        }
        ((AutoCloseable) djl).close();
    }

    @Test
    void ggufSlicesLoadOnlyTheirPart() throws Exception {
        viaGguf(WeightFormat.Q8_0);
        ModelWeights edge = ModelFiles.load(tmp.resolve("stories15M-q8_0.gguf"), ModelSlice.edge(2)).weights();
        assertNull(edge.classifier());
        assertThrows(IllegalArgumentException.class, () -> edge.layer(2));
        assertNotNull(edge.layer(1));
    }

    @Test
    void converterRejectsBadRequests() throws Exception {
        assertThrows(IllegalArgumentException.class,
                () -> ModelConverter.convert(TestModel.checkpoint(), tmp.resolve("x"), "q8_0", "safetensors"));
        assertThrows(IllegalArgumentException.class,
                () -> ModelConverter.convert(TestModel.checkpoint(), tmp.resolve("y.gguf"), "q3_k", "gguf"));
        assertThrows(IllegalArgumentException.class,
                () -> ModelConverter.convert(TestModel.checkpoint(), TestModel.checkpoint(), "f32", "gguf"));
    }
}
