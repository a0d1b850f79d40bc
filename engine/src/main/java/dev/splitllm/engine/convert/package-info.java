/**
 * Model conversion and quantization: {@link dev.splitllm.engine.convert.ModelConverter} (the
 * {@code convert} command's entry points) reads any format {@code ModelFiles} recognises and
 * writes GGUF ({@link dev.splitllm.engine.convert.GgufModelWriter}: f32, f16, bf16, q8_0, q4_0)
 * or a Hugging Face directory ({@link dev.splitllm.engine.convert.HfDirectoryWriter}: f32, f16,
 * bf16), one block at a time.
 */
package dev.splitllm.engine.convert;
