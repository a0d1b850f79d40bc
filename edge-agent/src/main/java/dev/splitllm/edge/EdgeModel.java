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
 * The edge's share of a model: the token embedding and blocks [0, splitLayer) only (the
 * rest of the checkpoint is never read), plus the tokenizer and the kernels that run them.
 */
public final class EdgeModel implements AutoCloseable {
    private final ModelWeights weights;
    private final Tokenizer tokenizer;
    private final JavaBackend backend;
    private final ThreadTeam team;

    public EdgeModel(ModelWeights weights, Tokenizer tokenizer, Kernels kernels, int threads) {
        if (!weights.slice().withEmbedding() || weights.slice().firstLayer() != 0) {
            throw new IllegalArgumentException("the edge needs the embedding and the first blocks, got slice " + weights.slice());
        }
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

    public int splitLayer() {
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
