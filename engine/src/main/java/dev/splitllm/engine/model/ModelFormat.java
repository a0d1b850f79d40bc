package dev.splitllm.engine.model;

import dev.splitllm.engine.ModelFormatException;

/** The model file formats {@link dev.splitllm.engine.load.ModelFiles} recognises (by content, never by file name). */
public enum ModelFormat {
    /** karpathy/llama2.c checkpoint (.bin): a 28-byte header whose shape matches the file size. */
    LLAMA2C,
    /** GGUF v2/v3 (magic "GGUF"). */
    GGUF,
    /** A Hugging Face directory: config.json plus safetensors (single file or sharded). */
    HF_SAFETENSORS
}
