package dev.splitllm.engine.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.SyntheticModel;
import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.model.MemoryReport;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.engine.tensor.BF16Matrix;
import dev.splitllm.engine.tensor.F16Matrix;
import dev.splitllm.engine.tensor.F32Matrix;
import dev.splitllm.engine.tensor.Q4_0Matrix;
import dev.splitllm.engine.tensor.Q8_0Matrix;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link MemoryAccount}, computed from config + plan alone, equals the bytes the engine really
 * allocates: the payloads of every distinct weight array of a loaded and converted slice, the
 * KV-cache arrays of a {@link SegmentState}, and the scratch arrays after a forward of T tokens.
 * Exact equality, no tolerance.
 */
class MemoryAccountingTest {

    static final WeightFormat F32 = WeightFormat.F32, F16 = WeightFormat.F16, BF16 = WeightFormat.BF16,
            Q8 = WeightFormat.Q8_0, Q4 = WeightFormat.Q4_0;

    static Stream<Arguments> stories15MPlans() {
        return Stream.of(
                Arguments.of(new PrecisionPlan(1, Q4, F32, Q4, F32), 256, 8),
                Arguments.of(new PrecisionPlan(2, Q8, F16, Q8, Q8), 128, 5),
                Arguments.of(new PrecisionPlan(3, Q4, Q8, F16, Q4), 64, 1),
                Arguments.of(new PrecisionPlan(4, F16, F32, F32, F32), 200, 16),
                Arguments.of(new PrecisionPlan(5, Q8, Q4, BF16, Q8), 32, 3));
    }

    @ParameterizedTest(name = "{0}, seq {1}, batch {2}")
    @MethodSource("stories15MPlans")
    void accountEqualsAllocationOnStories15M(PrecisionPlan plan, int seqLen, int batch) throws IOException {
        LlamaConfig c = TestModel.full().config();
        MemoryAccount account = new MemoryAccount(c, plan);
        ModelWeights edge = ModelQuantizer.load(TestModel.checkpoint(), ModelSlice.edge(plan.split()), plan);
        ModelWeights cloud = ModelQuantizer.load(TestModel.checkpoint(), ModelSlice.cloud(plan.split(), c.nLayers()), plan);
        MemoryReport e = account.edge(seqLen, batch), cl = account.cloud(seqLen, batch);
        checkSlice(edge, e, plan);
        checkSlice(cloud, cl, plan);
        // Run the real split so scratch and KV are the engine's own, then compare.
        int[] ids = new int[batch];
        for (int i = 0; i < batch; i++) ids[i] = 1 + i * 37;
        Transformer front = new Transformer(edge, KernelProvider.best(), TestModel.TEAM);
        Transformer back = new Transformer(cloud, KernelProvider.best(), TestModel.TEAM);
        SegmentState es = front.newState(seqLen), cs = back.newState(seqLen);
        float[] x = front.embed(ids);
        assertEquals(e.hiddenBytes(), 4L * x.length);
        front.forward(es, x, batch);
        back.forward(cs, x, batch);
        float[] logits = back.lastLogits(x, batch);
        assertTrue(Float.isFinite(logits[0]));
        assertEquals(cl.logitsBytes(), 4L * logits.length);
        checkState(es, e);
        checkState(cs, cl);
        // The whole-model account is the two sides minus what only one process needs once.
        MemoryReport whole = account.whole(seqLen, batch);
        assertEquals(e.embeddingBytes() + e.blockBytes() + cl.blockBytes() + cl.finalNormBytes()
                + account.classifierBytes(true), whole.weightBytes());
        assertEquals(e.kvCacheBytes() + cl.kvCacheBytes(), whole.kvCacheBytes());
    }

    @Test
    void wholeModelTiedSameFormatCountsTheTableOnce() throws IOException {
        PrecisionPlan plan = new PrecisionPlan(3, Q4, Q8, Q8, Q8);
        LlamaConfig c = TestModel.full().config();
        ModelWeights all = ModelQuantizer.load(TestModel.checkpoint(), ModelSlice.all(c.nLayers()), plan);
        assertSame(all.tokenEmbedding(), all.classifier());
        MemoryReport r = new MemoryAccount(c, plan).whole(256, 4);
        assertEquals(0, r.classifierBytes());
        assertEquals(allocatedWeightBytes(all), r.weightBytes());
        assertEquals(all.bytes(), r.weightBytes());
    }

    @Test
    void wholeModelTiedDifferentFormatsHoldsTwoTables() throws IOException {
        PrecisionPlan plan = new PrecisionPlan(2, Q4, F32, Q4, Q8);
        LlamaConfig c = TestModel.full().config();
        ModelWeights all = ModelQuantizer.load(TestModel.checkpoint(), ModelSlice.all(c.nLayers()), plan);
        assertNotSame(all.tokenEmbedding(), all.classifier());
        assertEquals(Q4, all.tokenEmbedding().format());
        assertEquals(Q8, all.classifier().format());
        MemoryReport r = new MemoryAccount(c, plan).whole(256, 1);
        assertEquals(32000L * 288 / 32 * 34, r.classifierBytes());
        assertEquals(32000L * 288 / 32 * 18, r.embeddingBytes());
        assertEquals(allocatedWeightBytes(all), r.weightBytes());
    }

    static Stream<Arguments> syntheticConfigs() {
        // Grouped-query attention (kv heads < heads) and an untied classifier; then tied.
        LlamaConfig gqaUntied = new LlamaConfig(64, 160, 5, 8, 2, 500, 48, 10000f, 1e-5f, false);
        LlamaConfig gqaTied = new LlamaConfig(96, 256, 4, 6, 3, 300, 40, 10000f, 1e-5f, true);
        return Stream.of(
                Arguments.of(gqaUntied, new PrecisionPlan(2, Q4, F16, Q8, BF16), 48, 7),
                Arguments.of(gqaUntied, new PrecisionPlan(4, Q8, Q4, F32, Q4), 16, 16),
                Arguments.of(gqaTied, new PrecisionPlan(1, Q4, Q8, Q8, F16), 40, 2),
                Arguments.of(gqaTied, new PrecisionPlan(3, BF16, F32, Q4, Q4), 10, 10));
    }

    @ParameterizedTest(name = "{1}, seq {2}, batch {3}")
    @MethodSource("syntheticConfigs")
    void accountEqualsAllocationOnSyntheticShapes(LlamaConfig c, PrecisionPlan plan, int seqLen, int batch) {
        MemoryAccount account = new MemoryAccount(c, plan);
        for (ModelSlice slice : new ModelSlice[] {ModelSlice.edge(plan.split()), ModelSlice.cloud(plan.split(), c.nLayers()),
                ModelSlice.all(c.nLayers())}) {
            ModelWeights w = ModelQuantizer.apply(SyntheticModel.random(c, slice, 7), plan);
            MemoryReport r = account.report(slice, seqLen, batch);
            checkSlice(w, r, plan);
            Transformer tf = new Transformer(w, KernelProvider.best(), TestModel.TEAM);
            SegmentState st = tf.newState(seqLen);
            float[] x = new float[batch * c.dim()];
            for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i);
            tf.forward(st, x, batch);
            checkState(st, r);
        }
    }

    @Test
    void kvCacheAndScratchFormulas() {
        LlamaConfig c = TestModel.full().config();
        MemoryAccount a = new MemoryAccount(c, PrecisionPlan.f32());
        assertEquals(2304, a.kvBytesPerTokenPerLayer(), "docs/MODEL.md: 2,304 B per layer-token");
        assertEquals(13824L * 256, a.kvBytes(6, 256), "docs/MODEL.md: 13,824 B per token for 6 layers");
        // F32 stories15M: 15,204,000 parameters minus freq_cis (256*48) is everything the engine holds.
        assertEquals(4L * (15_204_000 - 256 * 48), a.whole(256, 1).weightBytes());
    }

    @Test
    void badArgumentsAreRejected() {
        LlamaConfig c = TestModel.full().config();
        MemoryAccount a = new MemoryAccount(c, new PrecisionPlan(2, Q4, Q8, Q8, Q8));
        assertThrows(IllegalArgumentException.class, () -> a.edge(0, 1));
        assertThrows(IllegalArgumentException.class, () -> a.edge(257, 1));
        assertThrows(IllegalArgumentException.class, () -> a.edge(16, 17));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MemoryAccount(c, new PrecisionPlan(7, Q4, Q8, Q8, Q8)));
        assertTrue(e.getMessage().contains("split 7"), e.getMessage());
    }

    // ---- helpers --------------------------------------------------------------------------

    private static void checkSlice(ModelWeights w, MemoryReport r, PrecisionPlan plan) {
        ModelSlice s = w.slice();
        long blocks = 0;
        Map<Object, Boolean> seen = new IdentityHashMap<>();
        for (int l = s.firstLayer(); l < s.endLayer(); l++) {
            LayerWeights lw = w.layer(l);
            for (WeightMatrix m : matrices(lw)) {
                assertEquals(plan.layerFormat(l), m.format(), "layer " + l + " " + m);
                blocks += payload(m, seen);
            }
            blocks += payload(lw.rmsAtt(), seen) + payload(lw.rmsFfn(), seen);
        }
        assertEquals(r.blockBytes(), blocks, "blocks of " + s);
        long emb = w.tokenEmbedding() == null ? 0 : payload(w.tokenEmbedding(), seen);
        assertEquals(r.embeddingBytes(), emb, "embedding of " + s);
        long norm = w.rmsFinal() == null ? 0 : payload(w.rmsFinal(), seen);
        assertEquals(r.finalNormBytes(), norm, "final norm of " + s);
        long cls = w.classifier() == null ? 0 : payload(w.classifier(), seen);
        assertEquals(r.classifierBytes(), cls, "classifier of " + s);
        assertEquals(r.weightBytes(), allocatedWeightBytes(w));
        if (w.tokenEmbedding() != null) assertEquals(plan.embedding(), w.tokenEmbedding().format());
        if (w.classifier() != null) assertEquals(plan.classifier(), w.classifier().format());
    }

    private static void checkState(SegmentState st, MemoryReport r) {
        long kv = 0;
        for (int i = 0; i < st.keys.length; i++) kv += 4L * (st.keys[i].length + st.values[i].length);
        assertEquals(r.kvCacheBytes(), kv, "KV arrays");
        assertEquals(r.kvCacheBytes(), st.kvBytes());
        Scratch s = st.scratch;
        long scratch = 0;
        for (float[] a : new float[][] {s.xb, s.q, s.k, s.v, s.att, s.hb, s.hb2, s.cos, s.sin}) {
            scratch += 4L * a.length;
        }
        assertEquals(r.scratchBytes(), scratch, "scratch arrays after a forward of " + r.batch() + " tokens");
        assertEquals(r.scratchBytes(), st.scratchBytes());
    }

    /** Sum of the payloads of the distinct arrays behind a slice's weights. */
    static long allocatedWeightBytes(ModelWeights w) {
        Map<Object, Boolean> seen = new IdentityHashMap<>();
        long n = 0;
        ModelSlice s = w.slice();
        for (int l = s.firstLayer(); l < s.endLayer(); l++) {
            LayerWeights lw = w.layer(l);
            for (WeightMatrix m : matrices(lw)) n += payload(m, seen);
            n += payload(lw.rmsAtt(), seen) + payload(lw.rmsFfn(), seen);
        }
        if (w.tokenEmbedding() != null) n += payload(w.tokenEmbedding(), seen);
        if (w.rmsFinal() != null) n += payload(w.rmsFinal(), seen);
        if (w.classifier() != null) n += payload(w.classifier(), seen);
        return n;
    }

    private static WeightMatrix[] matrices(LayerWeights lw) {
        return new WeightMatrix[] {lw.wq(), lw.wk(), lw.wv(), lw.wo(), lw.w1(), lw.w2(), lw.w3()};
    }

    private static long payload(Object o, Map<Object, Boolean> seen) {
        Object array;
        if (o instanceof F32Matrix) array = ((F32Matrix) o).data();
        else if (o instanceof F16Matrix) array = ((F16Matrix) o).data();
        else if (o instanceof BF16Matrix) array = ((BF16Matrix) o).data();
        else if (o instanceof Q8_0Matrix) array = ((Q8_0Matrix) o).data();
        else if (o instanceof Q4_0Matrix) array = ((Q4_0Matrix) o).data();
        else array = o;
        if (seen.put(array, Boolean.TRUE) != null) return 0;
        if (array instanceof float[]) return 4L * ((float[]) array).length;
        if (array instanceof short[]) return 2L * ((short[]) array).length;
        if (array instanceof byte[]) return ((byte[]) array).length;
        throw new AssertionError("unexpected weight storage " + array.getClass());
    }
}
