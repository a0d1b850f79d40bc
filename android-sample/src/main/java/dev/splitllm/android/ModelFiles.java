package dev.splitllm.android;

import java.io.File;
import java.io.FileNotFoundException;

/**
 * Where the app finds its model: a llama2.c checkpoint ({@code stories15M.bin}) and its
 * tokenizer ({@code tokenizer.bin}) in one directory of app storage, by default the app's
 * files directory. Only the embedding and the front blocks of the checkpoint are ever read.
 */
public final class ModelFiles {
    /** Checkpoint file name inside the model directory. */
    public static final String CHECKPOINT = "stories15M.bin";
    /** Tokenizer file name inside the model directory. */
    public static final String TOKENIZER = "tokenizer.bin";

    private final File dir;

    public ModelFiles(File dir) {
        if (dir == null) throw new IllegalArgumentException("model directory is null");
        this.dir = dir;
    }

    public File dir() {
        return dir;
    }

    public File checkpoint() {
        return new File(dir, CHECKPOINT);
    }

    public File tokenizer() {
        return new File(dir, TOKENIZER);
    }

    /** Fails with a message naming what to copy where when a file is missing. */
    public void check() throws FileNotFoundException {
        for (File f : new File[] {checkpoint(), tokenizer()}) {
            if (!f.isFile()) {
                throw new FileNotFoundException("model file " + f + " is missing: copy " + CHECKPOINT + " and "
                        + TOKENIZER + " into " + dir);
            }
        }
    }
}
