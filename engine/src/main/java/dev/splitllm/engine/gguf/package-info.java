/**
 * GGUF (llama.cpp's model format, versions 2 and 3): {@link dev.splitllm.engine.gguf.GgufFile}
 * parses and validates the header and maps tensor data per tensor;
 * {@link dev.splitllm.engine.gguf.GgufModelLoader} turns {@code llama}, {@code mistral} and
 * {@code qwen2} files into engine weights; {@link dev.splitllm.engine.gguf.GgufTokenizerLoader}
 * builds the tokenizer from metadata; {@link dev.splitllm.engine.gguf.GgufWriter} writes files.
 * Pure Java, no dependencies beyond the engine: usable on Android.
 */
package dev.splitllm.engine.gguf;
