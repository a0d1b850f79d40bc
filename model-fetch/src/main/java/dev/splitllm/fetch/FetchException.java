package dev.splitllm.fetch;

import java.io.IOException;

/**
 * A model fetch failed. The message is meant for the user as is: it says what failed (npm
 * missing, download failed, checksum mismatch, cache folder unwritable, …) and what to do.
 */
public final class FetchException extends IOException {
    private static final long serialVersionUID = 1L;

    public FetchException(String message) {
        super(message);
    }

    public FetchException(String message, Throwable cause) {
        super(message, cause);
    }
}
