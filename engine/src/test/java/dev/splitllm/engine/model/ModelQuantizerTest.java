package dev.splitllm.engine.model;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.SyntheticModel;
import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.tensor.F32Matrix;
import dev.splitllm.engine.tensor.MatrixConverter;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.weights.WeightFormat;
import dev.splitllm.quantization.weights.WeightQuantizer;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class ModelQuantizerTest {

    static final WeightFormat F32 = WeightFormat.F32, F16 = WeightFormat.F16, Q8 = WeightFormat.Q8_0, Q4 = WeightFormat.Q4_0;

    @Test
    void loadConvertsExactlyLikeApply() throws IOException {
        PrecisionPlan plan = new PrecisionPlan(3, Q4, Q8, Q8, F16);
        ModelWeights full = TestModel.full();
        ModelWeights applied = ModelQuantizer.apply(full, plan);
        ModelWeights loaded = ModelQuantizer.load(TestModel.checkpoint(), ModelSlice.all(6), plan);
        for (int l = 0; l < 6; l++) {
            LayerWeights a = applied.layer(l), b = loaded.layer(l);
            assertEquals(l < 3 ? Q4 : Q8, b.wq().format());
            assertSame(full.layer(l).rmsAtt(), a.rmsAtt(), "norms stay F32 and are not copied");
            assertArrayEquals(full.layer(l).rmsFfn(), b.rmsFfn());
            for (WeightMatrix[] pair : new WeightMatrix[][] {{a.wq(), b.wq()}, {a.wk(), b.wk()}, {a.wv(), b.wv()},
                    {a.wo(), b.wo()}, {a.w1(), b.w1()}, {a.w2(), b.w2()}, {a.w3(), b.w3()}}) {
                assertEquals(pair[0].format(), pair[1].format());
                assertArrayEquals(MatrixConverter.dequantize(pair[0]), MatrixConverter.dequantize(pair[1]), "layer " + l);
            }
        }
        assertArrayEquals(MatrixConverter.dequantize(applied.tokenEmbedding()), MatrixConverter.dequantize(loaded.tokenEmbedding()));
        assertArrayEquals(MatrixConverter.dequantize(applied.classifier()), MatrixConverter.dequantize(loaded.classifier()));
        assertEquals(F16, loaded.classifier().format());
        assertArrayEquals(full.rmsFinal(), loaded.rmsFinal());
    }

    @Test
    void convertedWeightsAreTheQuantizersRoundTrip() {
        ModelWeights full = TestModel.full();
        ModelWeights q4 = ModelQuantizer.apply(full, PrecisionPlan.uniform(Q4));
        F32Matrix src = (F32Matrix) full.layer(2).w2();
        float[] expected = WeightQuantizer.roundTrip(Q4, src.data(), src.offset(), src.rows(), src.cols(), "w2");
        assertArrayEquals(expected, MatrixConverter.dequantize(q4.layer(2).w2()));
        assertSame(q4.tokenEmbedding(), q4.classifier(), "tied, same format: one table");
    }

    @Test
    void requantizingFromANonF32SourceGoesRowByRow() {
        ModelWeights full = TestModel.full();
        ModelWeights q8 = ModelQuantizer.apply(full, PrecisionPlan.uniform(Q8));
        ModelWeights q4FromQ8 = ModelQuantizer.apply(q8, PrecisionPlan.uniform(Q4));
        float[] viaQ8 = MatrixConverter.dequantize(q8.layer(0).wq());
        float[] expected = WeightQuantizer.roundTrip(Q4, viaQ8, 0, 288, 288, "wq");
        assertArrayEquals(expected, MatrixConverter.dequantize(q4FromQ8.layer(0).wq()));
        assertSame(q8.layer(0).wq(), ModelQuantizer.apply(q8, PrecisionPlan.uniform(Q8)).layer(0).wq(), "same format: kept");
    }

    @Test
    void slicesHoldOnlyTheirLayers() throws IOException {
        PrecisionPlan plan = new PrecisionPlan(2, Q4, F32, Q4, F32);
        ModelWeights edge = ModelQuantizer.load(TestModel.checkpoint(), ModelSlice.edge(2), plan);
        assertNull(edge.classifier());
        assertEquals(Q4, edge.tokenEmbedding().format());
        assertThrows(IllegalArgumentException.class, () -> edge.layer(2));
        ModelWeights cloud = ModelQuantizer.load(TestModel.checkpoint(), ModelSlice.cloud(2, 6), plan);
        assertNull(cloud.tokenEmbedding());
        assertEquals(F32, cloud.classifier().format());
        assertEquals(F32, cloud.layer(5).w1().format());
        assertThrows(IllegalArgumentException.class, () -> cloud.layer(1));
    }

    @Test
    void planErrorsNameTheProblem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelQuantizer.load(TestModel.checkpoint(), ModelSlice.all(6), new PrecisionPlan(7, Q4, Q8, Q8, Q8)));
        assertTrue(e.getMessage().contains("split 7") && e.getMessage().contains("stories15M.bin"), e.getMessage());
        // hidden 80 is not a multiple of 32: W2's rows are 80 long.
        LlamaConfig odd = new LlamaConfig(64, 80, 2, 4, 4, 50, 16, 10000f, 1e-5f, true);
        ModelWeights w = SyntheticModel.random(odd, ModelSlice.all(2), 1);
        e = assertThrows(IllegalArgumentException.class, () -> ModelQuantizer.apply(w, new PrecisionPlan(1, Q8, F32, F32, F32)));
        assertTrue(e.getMessage().contains("layers.0.w2") && e.getMessage().contains("q8_0"), e.getMessage());
        // dim 48: every matrix and the embedding fail; the embedding is named.
        LlamaConfig narrow = new LlamaConfig(48, 64, 1, 4, 4, 50, 16, 10000f, 1e-5f, true);
        e = assertThrows(IllegalArgumentException.class, () -> new MemoryAccount(narrow, new PrecisionPlan(0, F32, F32, Q4, Q4)));
        assertTrue(e.getMessage().contains("token_embedding"), e.getMessage());
        // A converter call on a bad shape names the tensor.
        e = assertThrows(IllegalArgumentException.class,
                () -> MatrixConverter.convert(new F32Matrix(new float[3 * 40], 3, 40), Q4, "layers.9.wk"));
        assertTrue(e.getMessage().contains("layers.9.wk"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> WeightFormat.parse("q3_k"));
        assertTrue(e.getMessage().contains("q3_k"), e.getMessage());
    }

    @Test
    void nonFiniteWeightsAreRejectedWithTheTensorName() {
        float[] a = new float[2 * 32];
        a[33] = Float.POSITIVE_INFINITY;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MatrixConverter.convert(new F32Matrix(a, 2, 32), Q8, "layers.4.w3"));
        assertTrue(e.getMessage().contains("layers.4.w3"), e.getMessage());
    }
}
