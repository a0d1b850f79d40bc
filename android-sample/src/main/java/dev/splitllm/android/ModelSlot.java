package dev.splitllm.android;

import dev.splitllm.edge.EdgeModel;
import java.io.IOException;

/**
 * The edge model, loaded on first use and kept for later generations: loading reads the
 * embedding and front blocks from storage, which takes far longer than a session. Used only
 * from the app's single worker thread.
 */
public final class ModelSlot implements AutoCloseable {
    private final ModelFiles files;
    private final int splitLayer;
    private final int threads;
    private EdgeModel model;

    public ModelSlot(ModelFiles files, int splitLayer, int threads) {
        this.files = files;
        this.splitLayer = splitLayer;
        this.threads = threads;
    }

    /** The loaded model, loading it now if needed. */
    public EdgeModel get() throws IOException {
        if (model == null) {
            files.check();
            model = EdgeModel.load(files.checkpoint().toPath(), files.tokenizer().toPath(), splitLayer, threads);
        }
        return model;
    }

    @Override
    public void close() {
        if (model != null) {
            model.close();
            model = null;
        }
    }
}
