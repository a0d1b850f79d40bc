package dev.splitllm.engine.model;

import dev.splitllm.engine.tensor.MatrixConverter;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Applies a {@link PrecisionPlan} (OPSC) to a model slice: every block matrix is converted to
 * its segment's format, the embedding and classifier to theirs; norm vectors stay F32.
 *
 * <p>{@link #load} converts while it reads a llama2.c checkpoint, one tensor group at a time:
 * at most one block (or the embedding table) exists at F32 at any moment, so the peak is the
 * converted slice plus one F32 block or table, never the F32 slice. {@link #apply} converts an
 * already loaded model; it cannot free the source, which stays alive as long as the caller
 * holds it.
 *
 * <p>Tied classifier: when the plan gives the embedding and classifier the same format, one
 * converted table serves both; otherwise a slice holding both keeps two tables (one per
 * format), which {@link MemoryAccount} counts.
 */
public final class ModelQuantizer {
    private ModelQuantizer() {}

    /** Converts {@code src} to {@code plan} (matrices already in the planned format are kept as they are). */
    public static ModelWeights apply(ModelWeights src, PrecisionPlan plan) {
        LlamaConfig c = src.config();
        plan.checkAgainst(c);
        ModelSlice slice = src.slice();
        LayerWeights[] layers = new LayerWeights[c.nLayers()];
        for (int l = slice.firstLayer(); l < slice.endLayer(); l++) {
            layers[l] = convertLayer(src.layer(l), l, plan.layerFormat(l));
        }
        WeightMatrix emb = null;
        if (slice.withEmbedding()) {
            emb = MatrixConverter.convert(src.tokenEmbedding(), plan.embedding(), "token_embedding");
        }
        WeightMatrix cls = null;
        if (slice.withHead()) {
            cls = emb != null && plan.sharesTable(c) ? emb
                    : MatrixConverter.convert(src.classifier(), plan.classifier(), "classifier");
        }
        return new ModelWeights(c, slice, emb, layers, src.rmsFinal(), cls);
    }

    /**
     * Loads {@code slice} of a llama2.c checkpoint directly into {@code plan}'s formats, converting
     * each tensor group as soon as it is read (see the class comment for the memory bound).
     */
    public static ModelWeights load(Path checkpoint, ModelSlice slice, PrecisionPlan plan) throws IOException {
        LlamaConfig c = Llama2cCheckpoint.readConfig(checkpoint);
        try {
            slice.checkAgainst(c.nLayers());
            plan.checkAgainst(c);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(checkpoint + ": " + e.getMessage(), e);
        }
        int nl = c.nLayers();
        WeightMatrix emb = null;
        WeightMatrix cls = null;
        float[] rmsFinal = null;
        {
            // Head first: for a tied model it carries the F32 embedding table, read only once.
            ModelWeights head = slice.withHead() ? Llama2cCheckpoint.load(checkpoint, new ModelSlice(nl, nl, false, true)) : null;
            WeightMatrix embF32 = null;
            if (slice.withEmbedding()) {
                embF32 = head != null && c.sharedClassifier() ? head.classifier()
                        : Llama2cCheckpoint.load(checkpoint, new ModelSlice(0, 0, true, false)).tokenEmbedding();
                emb = MatrixConverter.convert(embF32, plan.embedding(), "token_embedding");
            }
            if (head != null) {
                rmsFinal = head.rmsFinal();
                cls = emb != null && plan.sharesTable(c) ? emb
                        : MatrixConverter.convert(head.classifier(), plan.classifier(), "classifier");
            }
        } // the F32 tables are unreachable from here on
        LayerWeights[] layers = new LayerWeights[nl];
        for (int l = slice.firstLayer(); l < slice.endLayer(); l++) {
            LayerWeights f32 = Llama2cCheckpoint.load(checkpoint, new ModelSlice(l, l + 1, false, false)).layer(l);
            layers[l] = convertLayer(f32, l, plan.layerFormat(l));
        }
        return new ModelWeights(c, slice, emb, layers, rmsFinal, cls);
    }

    /** One block's matrices in {@code f}; the norm vectors are kept (F32). */
    public static LayerWeights convertLayer(LayerWeights w, int layer, WeightFormat f) {
        String p = "layers." + layer + ".";
        return new LayerWeights(w.rmsAtt(),
                MatrixConverter.convert(w.wq(), f, p + "wq"),
                MatrixConverter.convert(w.wk(), f, p + "wk"),
                MatrixConverter.convert(w.wv(), f, p + "wv"),
                MatrixConverter.convert(w.wo(), f, p + "wo"),
                w.rmsFfn(),
                MatrixConverter.convert(w.w1(), f, p + "w1"),
                MatrixConverter.convert(w.w2(), f, p + "w2"),
                MatrixConverter.convert(w.w3(), f, p + "w3"));
    }
}
