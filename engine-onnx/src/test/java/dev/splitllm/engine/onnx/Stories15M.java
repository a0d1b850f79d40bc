package dev.splitllm.engine.onnx;

import dev.splitllm.fetch.ModelStore;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The real stories15M model and one shared ONNX backend over it, loaded once per test JVM. */
final class Stories15M {
    private Stories15M() {}

    static final ThreadTeam TEAM = new ThreadTeam(2);
    private static ModelWeights full;
    private static Llama2Tokenizer tokenizer;
    private static OnnxBackend onnx;

    static synchronized Path checkpoint() {
        return ModelStore.stories15MDir().resolve("stories15M.bin");
    }

    static synchronized ModelWeights full() {
        if (full == null) {
            try {
                full = Llama2cCheckpoint.load(checkpoint(), ModelSlice.all(6));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return full;
    }

    static synchronized Llama2Tokenizer tokenizer() {
        if (tokenizer == null) {
            try {
                tokenizer = Llama2Tokenizer.load(ModelStore.stories15MDir().resolve("tokenizer.bin"), 32000);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return tokenizer;
    }

    static Transformer java() {
        return new Transformer(full(), KernelProvider.best(), TEAM);
    }

    /** One backend for the whole test JVM: each layer range's graph is built once and reused. */
    static synchronized OnnxBackend onnx() {
        if (onnx == null) {
            onnx = OnnxBackend.create(full(), OnnxOptions.defaults().withThreads(2).withProvider(OnnxOptions.Provider.CPU));
        }
        return onnx;
    }

    static float maxAbsDiff(float[] a, float[] b, int n) {
        float m = 0;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
