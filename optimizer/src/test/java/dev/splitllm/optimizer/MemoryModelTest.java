package dev.splitllm.optimizer;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.fetch.ModelStore;
import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.model.MemoryReport;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.optimizer.cost.MemoryModel;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The optimizer's memory cost equals the engine's accounting and the bytes a really loaded,
 * converted stories15M slice allocates (weights, KV cache, work buffers, hidden state, logits).
 */
class MemoryModelTest {
    static final Path CKPT = ModelStore.stories15MDir().resolve("stories15M.bin");
    static final ThreadTeam TEAM = new ThreadTeam(2);

    @AfterAll
    static void close() {
        TEAM.close();
    }

    @ParameterizedTest(name = "split {0}, {1}/{2}, seq {3}, prompt {4}")
    @CsvSource({"1,q4_0,f32,256,8", "3,q8_0,q4_0,128,16", "5,f16,q8_0,64,4", "6,q4_0,f32,200,32", "6,q8_0,q8_0,96,3", "2,f32,f16,32,1"})
    void edgeAndCloudBytesEqualTheLoadedSlices(int split, String e, String c, int seqLen, int prompt) throws IOException {
        LlamaConfig cfg = Llama2cCheckpoint.readConfig(CKPT);
        WeightFormat qe = WeightFormat.parse(e), qc = WeightFormat.parse(c);
        MemoryModel mm = new MemoryModel(cfg);
        PrecisionPlan plan = mm.precision(split, qe, qc);
        assertEquals(qe, plan.embedding());
        assertEquals(split == cfg.nLayers() ? qe : qc, plan.classifier());
        MemoryReport edge = mm.edge(split, qe, qc, seqLen, prompt);
        // The engine's own account of the same slice.
        MemoryAccount acct = new MemoryAccount(cfg, plan);
        ModelSlice edgeSlice = split == cfg.nLayers() ? ModelSlice.all(split) : ModelSlice.edge(split);
        assertEquals(acct.report(edgeSlice, seqLen, prompt), edge);
        // What the engine really allocates: load, convert, run the prompt.
        ModelWeights ew = ModelQuantizer.load(CKPT, edgeSlice, plan);
        assertEquals(allocated(ew, split == 0 ? 0 : split, seqLen, prompt, edgeSlice.withHead()), edge.totalBytes(), "edge bytes");
        assertEquals(edge.totalBytes(), mm.edgeBytes(split, qe, qc, seqLen, prompt));
        if (split < cfg.nLayers()) {
            MemoryReport cloud = mm.cloud(split, qe, qc, seqLen, prompt);
            assertEquals(acct.report(ModelSlice.cloud(split, cfg.nLayers()), seqLen, prompt), cloud);
            ModelWeights cw = ModelQuantizer.load(CKPT, ModelSlice.cloud(split, cfg.nLayers()), plan);
            assertEquals(allocated(cw, cfg.nLayers() - split, seqLen, prompt, true), cloud.totalBytes(), "cloud bytes");
        } else {
            assertNull(mm.cloud(split, qe, qc, seqLen, prompt));
            assertEquals(0, mm.cloudBytes(split, qe, qc, seqLen, prompt));
        }
    }

    @Test
    void allCloudEdgeHoldsOnlyTheEmbeddingAndHiddenState() throws IOException {
        LlamaConfig cfg = Llama2cCheckpoint.readConfig(CKPT);
        MemoryModel mm = new MemoryModel(cfg);
        MemoryReport r = mm.edge(0, WeightFormat.Q8_0, WeightFormat.F32, 128, 16);
        ModelWeights ew = ModelQuantizer.load(CKPT, ModelSlice.edge(0), mm.precision(0, WeightFormat.Q8_0, WeightFormat.F32));
        Transformer tf = new Transformer(ew, KernelProvider.best(), TEAM);
        float[] x = tf.embed(new int[16]);
        assertEquals(ew.bytes() + 4L * x.length, r.totalBytes());
        assertEquals(0, r.kvCacheBytes());
        assertEquals(0, r.scratchBytes());
    }

    @Test
    void edgeMemoryIsMonotoneInSplitAndSeqLen() throws IOException {
        LlamaConfig cfg = Llama2cCheckpoint.readConfig(CKPT);
        MemoryModel mm = new MemoryModel(cfg);
        for (WeightFormat f : WeightFormat.values()) {
            for (int seq : new int[] {32, 64, 256}) {
                long prev = -1;
                for (int l = 0; l <= cfg.nLayers(); l++) {
                    long b = mm.edgeBytes(l, f, WeightFormat.F32, seq, 8);
                    assertTrue(b > prev, "edge memory must grow with the split (" + f + ", seq " + seq + ", l " + l + ")");
                    prev = b;
                    if (seq > 32) assertTrue(b >= mm.edgeBytes(l, f, WeightFormat.F32, seq / 2, 8));
                }
            }
        }
    }

    @Test
    void splitBeyondTheModelIsRejected() throws IOException {
        MemoryModel mm = new MemoryModel(Llama2cCheckpoint.readConfig(CKPT));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> mm.edgeBytes(7, WeightFormat.F32, WeightFormat.F32, 64, 1));
        assertTrue(e.getMessage().contains("split 7"), e.getMessage());
    }

    /** Weights + KV + scratch + hidden (+ logits) really allocated by a slice that runs {@code prompt} tokens. */
    private static long allocated(ModelWeights w, int layers, int seqLen, int prompt, boolean head) {
        Transformer tf = new Transformer(w, KernelProvider.best(), TEAM);
        SegmentState st = tf.newState(seqLen);
        float[] x = new float[prompt * w.config().dim()];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(0.1 * i);
        long total = w.bytes() + 4L * x.length;
        if (layers > 0) {
            tf.forward(st, x, prompt);
            total += st.kvBytes() + st.scratchBytes();
        }
        assertEquals((long) layers * seqLen * 2 * w.config().kvDim() * 4, st.kvBytes());
        if (head) {
            total += 4L * tf.lastLogits(x, prompt).length;
        }
        return total;
    }
}
