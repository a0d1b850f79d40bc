package dev.splitllm.engine.model;

import dev.splitllm.engine.tokenizer.Tokenizer;

/**
 * The weights of one slice of a model together with its tokenizer.
 *
 * @param weights      the slice's weights
 * @param tokenizer    the tokenizer, or null when the model has none
 * @param format       the format it was read from
 * @param architecture the architecture name ("llama", "mistral", "qwen2")
 */
public record LoadedModel(ModelWeights weights, Tokenizer tokenizer, ModelFormat format, String architecture) {
}
