/**
 * Model conversion and quantization: {@link dev.splitllm.tools.convert.ModelConverter} (the
 * {@code convert} command's entry points) reads any format {@code ModelFiles} recognises and
 * writes GGUF ({@link dev.splitllm.tools.convert.GgufModelWriter}: f32, f16, bf16, q8_0, q4_0)
 * or a Hugging Face directory ({@link dev.splitllm.tools.convert.HfDirectoryWriter}: f32, f16,
 * bf16), one block at a time.
 */
package dev.splitllm.tools.convert;
