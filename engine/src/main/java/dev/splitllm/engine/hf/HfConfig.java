package dev.splitllm.engine.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.logging.Logger;

/**
 * A Hugging Face {@code config.json} of model type {@code llama}, {@code mistral} or
 * {@code qwen2}, mapped to a {@link LlamaConfig}. Qwen2 always has q/k/v biases; Llama has them
 * when {@code attention_bias} is true. {@code tie_word_embeddings} defaults to false.
 *
 * @param modelType   "llama", "mistral" or "qwen2"
 * @param config      the engine configuration
 * @param qkvBias     whether the attention projections carry biases
 * @param bosTokenId  {@code bos_token_id} or -1
 * @param eosTokenId  {@code eos_token_id} (the first, when a list) or -1
 */
public record HfConfig(String modelType, LlamaConfig config, boolean qkvBias, int bosTokenId, int eosTokenId) {
    private static final Logger LOG = Logger.getLogger(HfConfig.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads and validates {@code dir/config.json}. */
    public static HfConfig read(Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        long size = Files.size(file);
        if (size > (4 << 20)) {
            throw new ModelFormatException(file + ": " + size + " bytes is too large for a config.json");
        }
        JsonNode n;
        try {
            n = JSON.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ModelFormatException(file + ": not valid JSON: " + e.getMessage());
        }
        if (n == null || !n.isObject()) {
            throw new ModelFormatException(file + ": not a JSON object");
        }
        String type = n.path("model_type").asText("").toLowerCase(Locale.ROOT);
        if (!type.equals("llama") && !type.equals("mistral") && !type.equals("qwen2")) {
            throw new ModelFormatException(file + ": model_type '" + type + "' is not supported (supported: llama, mistral, qwen2)");
        }
        String act = n.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new ModelFormatException(file + ": hidden_act '" + act + "' is not supported (only silu)");
        }
        int dim = intField(file, n, "hidden_size", -1, LlamaConfig.MAX_DIM);
        int hidden = intField(file, n, "intermediate_size", -1, 4 * LlamaConfig.MAX_DIM);
        int layers = intField(file, n, "num_hidden_layers", -1, LlamaConfig.MAX_LAYERS);
        int heads = intField(file, n, "num_attention_heads", -1, LlamaConfig.MAX_DIM);
        int kvHeads = intField(file, n, "num_key_value_heads", heads, LlamaConfig.MAX_DIM);
        int vocab = intField(file, n, "vocab_size", -1, LlamaConfig.MAX_VOCAB);
        long ctx = n.path("max_position_embeddings").asLong(2048);
        if (ctx > LlamaConfig.MAX_SEQ_LEN) {
            LOG.warning(file + ": max_position_embeddings " + ctx + " capped at " + LlamaConfig.MAX_SEQ_LEN);
            ctx = LlamaConfig.MAX_SEQ_LEN;
        }
        if (n.has("head_dim") && !n.get("head_dim").isNull() && heads > 0 && n.get("head_dim").asLong() != dim / heads) {
            throw new ModelFormatException(file + ": head_dim " + n.get("head_dim") + " differs from hidden_size / heads (not supported)");
        }
        if (n.path("sliding_window").canConvertToLong() && n.path("sliding_window").asLong() < ctx) {
            LOG.warning(file + ": sliding_window " + n.get("sliding_window") + " is not applied (full attention is used);"
                    + " outputs differ from the reference beyond that many positions");
        }
        if (n.hasNonNull("rope_scaling")) {
            LOG.warning(file + ": rope_scaling " + n.get("rope_scaling") + " is not applied");
        }
        double theta = n.path("rope_theta").asDouble(10000.0);
        double eps = n.path("rms_norm_eps").asDouble(1e-6);
        boolean tied = n.path("tie_word_embeddings").asBoolean(false);
        boolean bias = type.equals("qwen2") || n.path("attention_bias").asBoolean(false);
        int bos = n.path("bos_token_id").canConvertToInt() ? n.path("bos_token_id").asInt() : -1;
        JsonNode eosNode = n.path("eos_token_id");
        int eos = eosNode.isArray() && eosNode.size() > 0 ? eosNode.get(0).asInt(-1) : eosNode.canConvertToInt() ? eosNode.asInt() : -1;
        LlamaConfig c;
        try {
            c = new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, (int) Math.max(1, ctx), (float) theta, (float) eps, tied);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
        return new HfConfig(type, c, bias, bos >= 0 && bos < vocab ? bos : -1, eos >= 0 && eos < vocab ? eos : -1);
    }

    private static int intField(Path file, JsonNode n, String key, int dflt, long max) throws ModelFormatException {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            if (dflt < 0) throw new ModelFormatException(file + ": missing '" + key + "'");
            return dflt;
        }
        if (!v.canConvertToLong() || v.asLong() < 1 || v.asLong() > max) {
            throw new ModelFormatException(file + ": '" + key + "' = " + v + " is out of range [1, " + max + "]");
        }
        return v.asInt();
    }
}
