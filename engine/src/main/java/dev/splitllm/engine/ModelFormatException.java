package dev.splitllm.engine;

import java.io.IOException;

/** A model or tokenizer file that is truncated, garbled or of an unsupported kind. */
public class ModelFormatException extends IOException {
    public ModelFormatException(String message) {
        super(message);
    }
}
