package dev.splitllm.engine.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import dev.splitllm.engine.forward.Backend;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ONNX Runtime {@link Backend}: builds an ONNX graph per layer range from the loaded
 * weights ({@link LlamaGraphBuilder}), opens one ORT session per graph, and shares it among
 * the {@link OnnxSegment}s (streams) opened over that range. A segment starting at block 0
 * also gets an embedding-only session, one ending at the last block a head-only session.
 *
 * <p>Sessions use the options' intra-op threads (spinning or not), graph optimization level
 * ALL, the memory pattern, sequential execution, and the CUDA execution provider when
 * requested and available. ORT holds its own float32 copy of every weight it runs (quantized weights are
 * dequantized), on top of the Java {@link ModelWeights} the caller keeps.
 *
 * <p>Thread-safe: sessions are built under a lock and ORT sessions accept concurrent runs;
 * each segment is used by one caller at a time.
 */
public final class OnnxBackend implements Backend {
    private final ModelWeights weights;
    private final OnnxOptions options;
    private final OrtEnvironment env;
    private final boolean cuda;
    private final Map<OnnxGraphSpec, OrtSession> sessions = new LinkedHashMap<>();
    private boolean closed;

    private OnnxBackend(ModelWeights weights, OnnxOptions options, OrtEnvironment env, boolean cuda) {
        this.weights = weights;
        this.options = options;
        this.env = env;
        this.cuda = cuda;
    }

    /**
     * A backend over {@code weights}. No graph is built yet: each layer range's graph and
     * session are built on the first {@link #open} of that range (or by {@link #prepare}).
     */
    public static OnnxBackend create(ModelWeights weights, OnnxOptions options) {
        if (weights == null || options == null) {
            throw new IllegalArgumentException("weights and options are required");
        }
        for (int l = weights.slice().firstLayer(); l < weights.slice().endLayer(); l++) {
            if (weights.layer(l).hasAttentionBias()) {
                // The graph builder has no bias inputs yet: refuse rather than compute something else.
                throw new IllegalArgumentException("the ONNX backend does not support q/k/v attention biases (Qwen2-style models) yet;"
                        + " use the Java backend");
            }
        }
        // Nor RoPE scaling or a sliding window: the graph would compute plain RoPE over the whole
        // context, a different model, so refuse with the reason.
        if (weights.config().ropeScaling().active()) {
            throw new IllegalArgumentException("the ONNX backend does not support RoPE scaling (" + weights.config().ropeScaling()
                    + ") yet; use the Java backend");
        }
        if (weights.config().slidingWindow() > 0) {
            throw new IllegalArgumentException("the ONNX backend does not support sliding-window attention (window "
                    + weights.config().slidingWindow() + ") yet; use the Java backend");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        EnumSet<OrtProvider> available = OrtEnvironment.getAvailableProviders();
        boolean hasCuda = available.contains(OrtProvider.CUDA);
        if (options.provider() == OnnxOptions.Provider.CUDA && !hasCuda) {
            throw new IllegalArgumentException("the CUDA execution provider was requested but this ONNX Runtime build offers only " + available);
        }
        boolean useCuda = hasCuda && options.provider() != OnnxOptions.Provider.CPU;
        return new OnnxBackend(weights, options, env, useCuda);
    }

    @Override
    public LlamaConfig config() {
        return weights.config();
    }

    @Override
    public ModelSlice slice() {
        return weights.slice();
    }

    ModelWeights weights() {
        return weights;
    }

    OrtEnvironment env() {
        return env;
    }

    @Override
    public OnnxSegment open(int firstLayer, int endLayer, int capacity) {
        LlamaConfig c = config();
        if (firstLayer < 0 || endLayer < firstLayer || endLayer > c.nLayers()) {
            throw new IllegalArgumentException("invalid layer range [" + firstLayer + ", " + endLayer + ") for " + c.nLayers() + " layers");
        }
        for (int l = firstLayer; l < endLayer; l++) {
            if (!slice().holdsLayer(l)) {
                throw new IllegalArgumentException("layer " + l + " is not held by this backend's slice " + slice());
            }
        }
        if (capacity <= 0 || capacity > c.seqLen()) {
            throw new IllegalArgumentException("KV capacity must be in [1, " + c.seqLen() + "], got " + capacity);
        }
        boolean embedding = firstLayer == 0 && weights.tokenEmbedding() != null;
        boolean head = endLayer == c.nLayers() && weights.classifier() != null;
        OrtSession blocks = endLayer > firstLayer ? session(OnnxGraphSpec.blocks(firstLayer, endLayer)) : null;
        OrtSession embed = embedding ? session(OnnxGraphSpec.embeddingOnly()) : null;
        OrtSession headSession = head ? session(OnnxGraphSpec.headOnly(c.nLayers())) : null;
        return new OnnxSegment(this, firstLayer, endLayer, capacity, blocks, embed, headSession);
    }

    /** Builds the graph and session for {@code spec} now (normally done lazily by {@link #open}). */
    public void prepare(OnnxGraphSpec spec) {
        session(spec);
    }

    /** The (cached) session running the graph for {@code spec}. */
    synchronized OrtSession session(OnnxGraphSpec spec) {
        if (closed) {
            throw new IllegalStateException("ONNX backend is closed");
        }
        OrtSession s = sessions.get(spec);
        if (s != null) {
            return s;
        }
        byte[] model = LlamaGraphBuilder.build(weights, spec, options.quantizedWeights()).toByteArray();
        try (OrtSession.SessionOptions so = sessionOptions()) {
            s = env.createSession(model, so);
        } catch (OrtException e) {
            throw new OnnxBackendException("ONNX Runtime rejected the graph for " + spec + ": " + e.getMessage(), e);
        }
        sessions.put(spec, s);
        return s;
    }

    /** A session over an arbitrary graph of this backend's weights (for tests and tools); the caller closes it. */
    public OrtSession newSession(OnnxGraphSpec spec) {
        byte[] model = LlamaGraphBuilder.build(weights, spec, options.quantizedWeights()).toByteArray();
        try (OrtSession.SessionOptions so = sessionOptions()) {
            return env.createSession(model, so);
        } catch (OrtException e) {
            throw new OnnxBackendException("ONNX Runtime rejected the graph for " + spec + ": " + e.getMessage(), e);
        }
    }

    private OrtSession.SessionOptions sessionOptions() throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        try {
            so.setIntraOpNumThreads(options.intraOpThreads());
            so.setInterOpNumThreads(1);
            so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setMemoryPatternOptimization(options.memoryPattern());
            so.addConfigEntry("session.intra_op.allow_spinning", options.spinning() ? "1" : "0");
            if (cuda) {
                so.addCUDA(0);
            }
            return so;
        } catch (OrtException | RuntimeException e) {
            so.close();
            throw e;
        }
    }

    /** True when sessions run on the CUDA execution provider. */
    public boolean usesCuda() {
        return cuda;
    }

    public OnnxOptions options() {
        return options;
    }

    @Override
    public String name() {
        return cuda ? "onnxruntime/cuda" : "onnxruntime/cpu";
    }

    synchronized void checkOpen() {
        if (closed) {
            throw new IllegalStateException("ONNX backend is closed");
        }
    }

    /** Closes every session; segments opened from this backend can no longer run. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (OrtSession s : sessions.values()) {
            try {
                s.close();
            } catch (OrtException e) {
                // Nothing useful to do while shutting down; the native memory is released anyway.
            }
        }
        sessions.clear();
    }
}
