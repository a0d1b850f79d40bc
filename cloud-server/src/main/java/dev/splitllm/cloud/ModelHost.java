package dev.splitllm.cloud;

import dev.splitllm.engine.forward.Backend;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * The model a cloud server serves: the full weights (every block, embedding and head, so it can
 * serve any split and plain completions), its tokenizer, and one backend per cloud weight
 * format (Q_w2) sessions have asked for. Other formats are derived from the loaded weights on
 * first use by {@code converter} and then kept.
 */
public final class ModelHost {
    private final ModelWeights weights;
    private final Tokenizer tokenizer;
    private final Function<ModelWeights, Backend> backendFactory;
    private final String backendName;
    /** The backend of the loaded format: completions use it without taking the conversion lock. */
    private final Backend nativeBackend;
    private final Set<WeightFormat> allowedFormats;
    private final BiFunction<ModelWeights, WeightFormat, ModelWeights> converter;
    private final Map<WeightFormat, Backend> backends = new EnumMap<>(WeightFormat.class);
    /** How /v1/chat/completions turns messages into a prompt; set once at start-up. */
    private volatile ChatPrompt chatPrompt = ChatPrompt.CONCATENATED;

    /**
     * @param weights        the full model as loaded (its own format is served without conversion)
     * @param allowedFormats cloud weight formats sessions may request
     * @param converter      derives the model at another format; null if none is available
     */
    public ModelHost(ModelWeights weights, Tokenizer tokenizer, Kernels kernels, ThreadTeam team,
                     Set<WeightFormat> allowedFormats, BiFunction<ModelWeights, WeightFormat, ModelWeights> converter) {
        this(weights, tokenizer, w -> new JavaBackend(w, kernels, team), allowedFormats, converter);
    }

    /**
     * @param backendFactory builds the backend that runs a copy of the weights (the Java engine,
     *                       ONNX Runtime, ...)
     */
    public ModelHost(ModelWeights weights, Tokenizer tokenizer, Function<ModelWeights, Backend> backendFactory,
                     Set<WeightFormat> allowedFormats, BiFunction<ModelWeights, WeightFormat, ModelWeights> converter) {
        if (!weights.slice().withEmbedding() || !weights.slice().withHead()
                || weights.slice().firstLayer() != 0 || weights.slice().endLayer() != weights.config().nLayers()) {
            throw new IllegalArgumentException("the cloud server needs the whole model, got slice " + weights.slice());
        }
        if (tokenizer.vocabSize() != weights.config().vocabSize()) {
            throw new IllegalArgumentException("tokenizer has " + tokenizer.vocabSize() + " tokens, model " + weights.config().vocabSize());
        }
        this.weights = weights;
        this.tokenizer = tokenizer;
        this.backendFactory = backendFactory;
        this.allowedFormats = Set.copyOf(allowedFormats);
        this.converter = converter;
        Backend first = backendFactory.apply(weights);
        this.backendName = first.name();
        this.nativeBackend = first;
        backends.put(nativeFormat(), first);
    }

    public LlamaConfig config() {
        return weights.config();
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ChatPrompt chatPrompt() {
        return chatPrompt;
    }

    /** Uses the model's chat template (see {@link TemplateChatPrompt#forGguf}); returns this. */
    public ModelHost withChatPrompt(ChatPrompt prompt) {
        if (prompt == null) throw new IllegalArgumentException("chat prompt is required");
        this.chatPrompt = prompt;
        return this;
    }

    /** The format the weights were loaded in (that of the first block's Wq). */
    public WeightFormat nativeFormat() {
        return weights.layer(0).wq().format();
    }

    public Set<WeightFormat> allowedFormats() {
        return allowedFormats;
    }

    /** The backend serving cloud segments at {@code format}, converting once if needed. */
    public synchronized Backend backend(WeightFormat format) {
        Backend b = backends.get(format);
        if (b != null) {
            return b;
        }
        if (!allowedFormats.contains(format) || converter == null) {
            throw ApiException.badRequest("cloud weight format " + format.id() + " is not served here (served: "
                    + allowedFormats.stream().map(WeightFormat::id).sorted().toList() + ")");
        }
        b = backendFactory.apply(converter.apply(weights, format));
        backends.put(format, b);
        return b;
    }

    /** The backend of the loaded format, used for plain completions. */
    public Backend nativeBackend() {
        return nativeBackend;
    }

    /** Name of the backend computing the cloud segments, e.g. "java/vector-512" or "onnxruntime/cpu". */
    public String kernelName() {
        return backendName;
    }

    /** Releases the backends (ONNX sessions, ...). */
    public synchronized void close() {
        for (Backend b : backends.values()) b.close();
        backends.clear();
    }
}
