package dev.splitllm.engine.draft;

import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Drafts with a separate small model that shares the tokenizer (e.g. the same model at Q4_0, or a
 * smaller one): its own full-depth segment and KV cache on the edge. Successive calls usually
 * extend the history by one token; after a rejection the history shrinks, and the drafter rolls
 * its cache back to the longest common prefix and catches up.
 */
public final class ModelDrafter implements Drafter {
    private final ModelWeights weights;
    private final ThreadTeam team;
    private final Segment segment;
    /** Tokens the segment holds, positions [0, segment.position()). */
    private final int[] cached;
    /** Logits after cached[position - 1], valid while {@link #haveLogits}. */
    private float[] lastLogits;
    private boolean haveLogits;

    /** A drafter running {@code weights} (a whole model: embedding, all blocks, head) for {@code maxSeqLen} positions. */
    public ModelDrafter(ModelWeights weights, int maxSeqLen, int threads) {
        ModelSlice s = weights.slice();
        if (!s.withEmbedding() || !s.withHead() || s.firstLayer() != 0 || s.endLayer() != weights.config().nLayers()) {
            throw new IllegalArgumentException("a draft model must be a whole model, got slice " + s);
        }
        this.weights = weights;
        this.team = new ThreadTeam(threads);
        this.segment = new JavaBackend(weights, KernelProvider.best(), team).open(0, s.endLayer(), maxSeqLen);
        this.cached = new int[maxSeqLen];
    }

    /**
     * Loads a whole model in any supported format as a drafter; {@code format} (or null to keep the
     * file's) quantizes its weights as they load, e.g. Q4_0 for a cheap copy of the edge's own model.
     */
    public static ModelDrafter open(Path model, WeightFormat format, int maxSeqLen, int threads) throws IOException {
        try (ModelSource src = ModelFiles.open(model)) {
            int layers = src.config().nLayers();
            ModelWeights w = src.load(ModelSlice.all(layers));
            if (format != null && format != WeightFormat.F32) {
                w = ModelQuantizer.apply(w, new PrecisionPlan(layers, format, format, format, format));
            }
            return new ModelDrafter(w, maxSeqLen, threads);
        }
    }

    public int vocabSize() {
        return weights.config().vocabSize();
    }

    @Override
    public String name() {
        return "model";
    }

    @Override
    public boolean score(int[] history, int length, float[] cutRow, float[] logits) {
        if (length < 1) return false;
        if (length > segment.capacity()) return false; // the draft model's context is full: no guess
        int pos = segment.position();
        int common = 0;
        int limit = Math.min(pos, length);
        while (common < limit && cached[common] == history[common]) common++;
        if (!(common == length && pos == length && haveLogits)) {
            int keep = Math.min(common, length - 1); // at least the last token is run again for its logits
            if (keep < pos) {
                segment.truncate(keep);
                haveLogits = false;
            }
            int n = length - keep;
            int[] ids = new int[n];
            System.arraycopy(history, keep, ids, 0, n);
            float[] x = segment.embed(ids);
            segment.forward(x, n);
            System.arraycopy(history, keep, cached, keep, n);
            lastLogits = segment.lastLogits(x, n);
            haveLogits = true;
        }
        System.arraycopy(lastLogits, 0, logits, 0, Math.min(logits.length, lastLogits.length));
        return true;
    }

    @Override
    public long residentBytes() {
        return weights.bytes() + MemoryAccount.kvCacheBytes(weights.config(), weights.config().nLayers(), segment.capacity());
    }

    @Override
    public void close() {
        segment.close();
        team.close();
    }
}
