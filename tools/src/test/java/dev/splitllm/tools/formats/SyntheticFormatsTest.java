package dev.splitllm.tools.formats;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import dev.splitllm.tools.convert.ModelConverter;
import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.LoadedModel;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelFormat;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.quantization.weights.WeightFormat;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GQA and q/k/v-bias models written by the test (GGUF llama/mistral/qwen2, Hugging Face single
 * and sharded), loaded through {@link ModelFiles} and run by the engine, against
 * {@link ReferenceModel}'s independent forward. Checks both RoPE conventions: GGUF llama files
 * hold consecutive-pair q/k rows, qwen2 and Hugging Face ones rotate-half rows.
 */
class SyntheticFormatsTest {
    @TempDir
    Path tmp;

    static final int[] TOKENS = {3, 1, 4, 1, 5, 9, 2, 6};
    /** Largest |engine - reference| logit accepted (float vs double over 2 blocks; logits are O(1..10)). */
    static final double TOL = 2e-3;

    static float[] engineLogits(ModelWeights w, int[] tokens) {
        Transformer tf = new Transformer(w, KernelProvider.best(), TestModel.TEAM);
        SegmentState st = tf.newState(tokens.length);
        float[] x = tf.embed(tokens);
        tf.forward(st, x, tokens.length);
        float[] out = new float[tokens.length * w.config().vocabSize()];
        tf.logits(x, 0, tokens.length, out);
        return out;
    }

    static void assertMatchesReference(ReferenceModel ref, ModelWeights w) {
        double[][] want = ref.forward(TOKENS);
        float[] got = engineLogits(w, TOKENS);
        double worst = 0;
        for (int t = 0; t < TOKENS.length; t++) {
            for (int v = 0; v < ref.vocab; v++) {
                worst = Math.max(worst, Math.abs(want[t][v] - got[t * ref.vocab + v]));
            }
        }
        assertTrue(worst < TOL, "max |engine - reference| logit = " + worst);
    }

    @Test
    void ggufLlamaWithGqaMatchesReference() throws Exception {
        ReferenceModel ref = new ReferenceModel(64, 96, 2, 4, 2, 50, false, false, false, 11);
        Path f = tmp.resolve("llama.bin");
        ref.gguf("llama").write(f);
        LoadedModel m = ModelFiles.load(f, ModelSlice.all(2));
        assertEquals(ModelFormat.GGUF, m.format());
        assertEquals(2, m.weights().config().nKvHeads());
        assertFalse(m.weights().config().sharedClassifier());
        assertFalse(m.weights().layer(0).hasAttentionBias());
        assertMatchesReference(ref, m.weights());
    }

    @Test
    void ggufMistralIsReadLikeLlama() throws Exception {
        ReferenceModel ref = new ReferenceModel(64, 64, 1, 8, 2, 40, false, true, false, 12);
        Path f = tmp.resolve("m.gguf");
        ref.gguf("mistral").write(f);
        ModelWeights w = ModelFiles.load(f, ModelSlice.all(1)).weights();
        assertTrue(w.config().sharedClassifier());
        assertMatchesReference(ref, w);
    }

    @Test
    void ggufQwen2WithBiasesAndRotateHalfMatchesReference() throws Exception {
        ReferenceModel ref = new ReferenceModel(64, 96, 2, 4, 2, 50, true, true, true, 13);
        Path f = tmp.resolve("qwen.gguf");
        ref.gguf("qwen2").write(f);
        LoadedModel m = ModelFiles.load(f, ModelSlice.all(2));
        assertEquals("qwen2", m.architecture());
        assertTrue(m.weights().layer(1).hasAttentionBias());
        assertMatchesReference(ref, m.weights());
    }

    @Test
    void wrongRopeConventionIsDetectedByTheReference() throws Exception {
        // The same rotate-half weights declared as llama (no permutation at load) must NOT match:
        // proves the comparison is sensitive to the convention.
        ReferenceModel ref = new ReferenceModel(64, 96, 2, 4, 2, 50, true, true, true, 13);
        Path f = tmp.resolve("wrong.gguf");
        ref.gguf("llama").write(f);
        ModelWeights w = ModelFiles.load(f, ModelSlice.all(2)).weights();
        assertThrows(AssertionError.class, () -> assertMatchesReference(ref, w));
    }

    @Test
    void hfLlamaShardedWithGqaMatchesReference() throws Exception {
        ReferenceModel ref = new ReferenceModel(64, 96, 2, 4, 2, 50, false, false, true, 14);
        Path dir = tmp.resolve("hf-llama");
        ref.writeHf(dir, "llama", 3);
        LoadedModel m = ModelFiles.load(dir, ModelSlice.all(2));
        assertEquals(ModelFormat.HF_SAFETENSORS, m.format());
        assertMatchesReference(ref, m.weights());
    }

    @Test
    void hfQwen2WithBiasesAndTiedHeadMatchesReference() throws Exception {
        ReferenceModel ref = new ReferenceModel(64, 96, 2, 4, 1, 50, true, true, true, 15);
        Path dir = tmp.resolve("hf-qwen");
        ref.writeHf(dir, "qwen2", 1);
        ModelWeights w = ModelFiles.load(dir.resolve("model.safetensors"), ModelSlice.all(2)).weights();
        assertTrue(w.layer(0).hasAttentionBias());
        assertMatchesReference(ref, w);
    }

    @Test
    void splitSlicesOfABiasedModelGiveTheSameLogits() throws Exception {
        ReferenceModel ref = new ReferenceModel(64, 96, 2, 4, 2, 50, true, false, true, 16);
        Path dir = tmp.resolve("hf-split");
        ref.writeHf(dir, "qwen2", 2);
        ModelWeights edge = ModelFiles.load(dir, ModelSlice.edge(1)).weights();
        ModelWeights cloud = ModelFiles.load(dir, ModelSlice.cloud(1, 2)).weights();
        Transformer e = new Transformer(edge, KernelProvider.best(), TestModel.TEAM);
        Transformer c = new Transformer(cloud, KernelProvider.best(), TestModel.TEAM);
        float[] x = e.embed(TOKENS);
        e.forward(e.newState(0, 1, TOKENS.length), x, TOKENS.length);
        c.forward(c.newState(1, 2, TOKENS.length), x, TOKENS.length);
        float[] split = c.lastLogits(x, TOKENS.length);
        float[] whole = engineLogits(ModelFiles.load(dir, ModelSlice.all(2)).weights(), TOKENS);
        assertArrayEquals(java.util.Arrays.copyOfRange(whole, (TOKENS.length - 1) * 50, TOKENS.length * 50), split);
    }

    @Test
    void convertingBiasedGqaModelsKeepsLogitsExactly() throws Exception {
        ReferenceModel ref = new ReferenceModel(64, 96, 2, 4, 2, 50, true, false, true, 17);
        Path hf = tmp.resolve("hf");
        ref.writeHf(hf, "qwen2", 1);
        float[] base = engineLogits(ModelFiles.load(hf, ModelSlice.all(2)).weights(), TOKENS);
        Path gguf = tmp.resolve("out.gguf");
        ModelConverter.toGguf(hf, gguf, WeightFormat.F32);
        assertArrayEquals(base, engineLogits(ModelFiles.load(gguf, ModelSlice.all(2)).weights(), TOKENS), "HF -> GGUF f32");
        Path back = tmp.resolve("back");
        ModelConverter.toSafetensors(gguf, back, WeightFormat.F32);
        LoadedModel m = ModelFiles.load(back, ModelSlice.all(2));
        assertEquals("llama", m.architecture(), "GGUF output is llama arch; its biases make it an attention_bias llama");
        assertTrue(m.weights().layer(0).hasAttentionBias());
        assertArrayEquals(base, engineLogits(m.weights(), TOKENS), "GGUF -> HF f32");
    }
}
