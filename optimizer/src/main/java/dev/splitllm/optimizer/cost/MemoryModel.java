package dev.splitllm.optimizer.cost;

import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.model.MemoryReport;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.quantization.weights.WeightFormat;

/**
 * Memory cost of a split plan: the engine's own {@link MemoryAccount}, so the optimizer's
 * figures are the bytes the engine allocates. Placement (paper §2.3, our decisions):
 *
 * <ul>
 *   <li>split l &lt; L: the edge holds the embedding (at Q_w1) and blocks [0, l) at Q_w1 with their
 *       KV cache; the cloud holds blocks [l, L) at Q_w2 with theirs, the final norm and the
 *       classifier (at Q_w2). l = 0 still embeds on the edge (the runtime ships embeddings).</li>
 *   <li>split L (all edge): the edge holds the whole model at Q_w1, head included; the cloud
 *       holds nothing.</li>
 *   <li>KV capacity = the planned maximum sequence length; work buffers sized for a prefill
 *       batch of min(prompt, seqLen) tokens (the peak; decode needs one row).</li>
 *   <li>a plan that drafts (speculation across the cut) adds its drafter's resident bytes to the
 *       edge ({@link #edgeBytesWithDrafter}).</li>
 * </ul>
 */
public final class MemoryModel {
    private final LlamaConfig config;

    public MemoryModel(LlamaConfig config) {
        this.config = config;
    }

    public LlamaConfig config() {
        return config;
    }

    /** The engine precision plan of a split: embedding at Q_w1, classifier on whichever side holds it. */
    public PrecisionPlan precision(int split, WeightFormat edge, WeightFormat cloud) {
        int L = config.nLayers();
        if (split < 0 || split > L) {
            throw new IllegalArgumentException("split " + split + " outside [0, " + L + "]");
        }
        WeightFormat back = split == L ? edge : cloud;
        return new PrecisionPlan(split, edge, back, edge, back);
    }

    /** The slice the edge process holds. */
    public ModelSlice edgeSlice(int split) {
        return split == config.nLayers() ? ModelSlice.all(split) : ModelSlice.edge(split);
    }

    /** The edge process's account for a split. */
    public MemoryReport edge(int split, WeightFormat edge, WeightFormat cloud, int seqLen, int batch) {
        PrecisionPlan p = precision(split, edge, cloud);
        return new MemoryAccount(config, p).report(edgeSlice(split), seqLen, Math.min(batch, seqLen));
    }

    /** The cloud process's account, or null for an all-edge plan (split = L). */
    public MemoryReport cloud(int split, WeightFormat edge, WeightFormat cloud, int seqLen, int batch) {
        if (split == config.nLayers()) {
            return null;
        }
        PrecisionPlan p = precision(split, edge, cloud);
        return new MemoryAccount(config, p).report(ModelSlice.cloud(split, config.nLayers()), seqLen, Math.min(batch, seqLen));
    }

    /** Total edge bytes. */
    public long edgeBytes(int split, WeightFormat edge, WeightFormat cloud, int seqLen, int batch) {
        return edge(split, edge, cloud, seqLen, batch).totalBytes();
    }

    /** Edge bytes of a plan that holds {@code edgeBytes} and drafts with {@code drafter} (null: no drafter). */
    public long edgeBytesWithDrafter(long edgeBytes, DraftProfile drafter) {
        return drafter == null ? edgeBytes : edgeBytes + drafter.residentBytes();
    }

    /** Total cloud bytes (0 for split = L). */
    public long cloudBytes(int split, WeightFormat edge, WeightFormat cloud, int seqLen, int batch) {
        MemoryReport r = cloud(split, edge, cloud, seqLen, batch);
        return r == null ? 0 : r.totalBytes();
    }
}
