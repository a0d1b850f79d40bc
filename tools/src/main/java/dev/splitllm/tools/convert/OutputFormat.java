package dev.splitllm.tools.convert;

import java.util.Locale;

/** What {@link ModelConverter} writes. */
public enum OutputFormat {
    /** One GGUF file (llama architecture, llama.cpp tensor names). */
    GGUF,
    /** A Hugging Face directory: config.json, model.safetensors, tokenizer files. */
    SAFETENSORS;

    /** Parses "gguf" or "safetensors" with a clear message on failure. */
    public static OutputFormat parse(String s) {
        switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "gguf": return GGUF;
            case "safetensors": case "hf": return SAFETENSORS;
            default: throw new IllegalArgumentException("unknown output format '" + s + "' (expected gguf or safetensors)");
        }
    }
}
