package dev.splitllm.edge;

import dev.splitllm.engine.forward.Backend;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelFormat;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.quantization.weights.WeightFormat;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The edge's share of a model: the token embedding and blocks [0, reach) only (the rest of the
 * checkpoint is never read), plus the tokenizer and the kernels that run them. A session starts
 * at {@link #splitLayer()}; it may move its cut to any split in [0, {@link #reach()}] mid-session
 * (the blocks up to the reach are loaded for that; by default the reach is the split).
 */
public final class EdgeModel implements AutoCloseable {
    private final ModelWeights weights;
    private final Tokenizer tokenizer;
    private final JavaBackend backend;
    private final ThreadTeam team;
    private final int splitLayer;

    public EdgeModel(ModelWeights weights, Tokenizer tokenizer, Kernels kernels, int threads) {
        this(weights, tokenizer, kernels, threads, weights.slice().endLayer());
    }

    /** A model holding blocks [0, weights' end) whose sessions start at {@code splitLayer}. */
    public EdgeModel(ModelWeights weights, Tokenizer tokenizer, Kernels kernels, int threads, int splitLayer) {
        if (!weights.slice().withEmbedding() || weights.slice().firstLayer() != 0) {
            throw new IllegalArgumentException("the edge needs the embedding and the first blocks, got slice " + weights.slice());
        }
        if (splitLayer < 0 || splitLayer > weights.slice().endLayer()) {
            throw new IllegalArgumentException("split " + splitLayer + " is beyond the blocks loaded [0, "
                    + weights.slice().endLayer() + ")");
        }
        this.splitLayer = splitLayer;
        this.weights = weights;
        this.tokenizer = tokenizer;
        this.team = new ThreadTeam(threads);
        this.backend = new JavaBackend(weights, kernels, team);
    }

    /** Loads the front segment of a llama2.c checkpoint for a split after {@code splitLayer} blocks, at F32. */
    public static EdgeModel load(Path checkpoint, Path tokenizerFile, int splitLayer, int threads) throws IOException {
        return load(checkpoint, tokenizerFile, splitLayer, WeightFormat.F32, threads);
    }

    /**
     * Loads the front segment with its blocks and embedding stored at {@code edgeWeights} (OPSC's
     * Q_w1); tensors are converted as they are read, so the F32 originals never all sit in memory.
     */
    public static EdgeModel load(Path checkpoint, Path tokenizerFile, int splitLayer, WeightFormat edgeWeights, int threads)
            throws IOException {
        LlamaConfig c = Llama2cCheckpoint.readConfig(checkpoint);
        if (splitLayer < 0 || splitLayer >= c.nLayers()) {
            throw new IllegalArgumentException("split layer must be in [0, " + (c.nLayers() - 1) + "] for this "
                    + c.nLayers() + "-layer model, got " + splitLayer);
        }
        ModelWeights w = edgeWeights == WeightFormat.F32
                ? Llama2cCheckpoint.load(checkpoint, ModelSlice.edge(splitLayer))
                : ModelQuantizer.load(checkpoint, ModelSlice.edge(splitLayer),
                        new PrecisionPlan(splitLayer, edgeWeights, edgeWeights, edgeWeights, edgeWeights));
        Tokenizer tok = Llama2Tokenizer.load(tokenizerFile, c.vocabSize());
        return new EdgeModel(w, tok, KernelProvider.best(), threads);
    }

    /**
     * Opens the front segment of a model in any supported format (llama2.c, GGUF, Hugging Face;
     * detected from the content). {@code tokenizerFile} may be null when the model carries its own
     * tokenizer (GGUF, Hugging Face) or a llama2.c checkpoint has {@code tokenizer.bin} beside it.
     */
    public static EdgeModel open(Path model, Path tokenizerFile, int splitLayer, WeightFormat edgeWeights, int threads)
            throws IOException {
        return open(model, tokenizerFile, splitLayer, edgeWeights, threads, splitLayer);
    }

    /**
     * As {@link #open(Path, Path, int, WeightFormat, int)}, loading blocks up to {@code reach} (at
     * least the split) so that sessions may move their cut to any split in [0, reach].
     */
    public static EdgeModel open(Path model, Path tokenizerFile, int splitLayer, WeightFormat edgeWeights, int threads,
                                 int reach) throws IOException {
        if (reach < splitLayer) throw new IllegalArgumentException("reach " + reach + " is below the split " + splitLayer);
        if (reach == splitLayer) return openSlice(model, tokenizerFile, splitLayer, edgeWeights, threads);
        EdgeModel wide = openSlice(model, tokenizerFile, reach, edgeWeights, threads);
        wide.close(); // only its thread team: the weights and tokenizer live on in the model returned
        return new EdgeModel(wide.weights, wide.tokenizer, wide.backend.transformer().kernels(), threads, splitLayer);
    }

    private static EdgeModel openSlice(Path model, Path tokenizerFile, int splitLayer, WeightFormat edgeWeights, int threads)
            throws IOException {
        if (ModelFiles.detect(model) == ModelFormat.LLAMA2C && tokenizerFile != null) {
            return load(model, tokenizerFile, splitLayer, edgeWeights, threads);
        }
        try (ModelSource src = ModelFiles.open(model)) {
            LlamaConfig c = src.config();
            if (splitLayer < 0 || splitLayer >= c.nLayers()) {
                throw new IllegalArgumentException("split layer must be in [0, " + (c.nLayers() - 1) + "] for this "
                        + c.nLayers() + "-layer model, got " + splitLayer);
            }
            ModelWeights w = src.load(ModelSlice.edge(splitLayer));
            if (edgeWeights != WeightFormat.F32) {
                w = ModelQuantizer.apply(w, new PrecisionPlan(splitLayer, edgeWeights, edgeWeights, edgeWeights, edgeWeights));
            }
            Tokenizer tok = tokenizerFile != null ? Llama2Tokenizer.load(tokenizerFile, c.vocabSize()) : src.tokenizer();
            if (tok == null) {
                throw new IllegalArgumentException(model + " carries no tokenizer; give a tokenizer file");
            }
            return new EdgeModel(w, tok, KernelProvider.best(), threads);
        }
    }

    public LlamaConfig config() {
        return weights.config();
    }

    /** The split a session starts at. */
    public int splitLayer() {
        return splitLayer;
    }

    /** The deepest split this model can take: blocks [0, reach) are loaded. */
    public int reach() {
        return weights.slice().endLayer();
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public Backend backend() {
        return backend;
    }

    /** Bytes of weights held by the edge (embedding + front blocks). */
    public long weightBytes() {
        return weights.bytes();
    }

    public String kernelName() {
        return backend.transformer().kernels().name();
    }

    @Override
    public void close() {
        team.close();
    }
}
