package dev.splitllm.edge;

import dev.splitllm.cloud.CloudServer;
import dev.splitllm.cloud.ModelHost;
import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.fetch.ModelStore;
import dev.splitllm.engine.forward.Generation;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

/** A real cloud server on loopback serving the real stories15M, and helpers to run edges against it. */
final class Fixture implements AutoCloseable {
    static final String TOKEN = "test-token-1";
    static final String OTHER_TOKEN = "test-token-2";

    final ModelWeights full;
    final Llama2Tokenizer tokenizer;
    final CloudServer server;
    final ThreadTeam team = new ThreadTeam(1);

    Fixture() {
        this(ServerConfig.defaults(Set.of(TOKEN, OTHER_TOKEN)));
    }

    Fixture(ServerConfig config) {
        this(config, null);
    }

    /** With {@code backendFactory} null, the cloud runs on the Java engine. */
    Fixture(ServerConfig config, java.util.function.Function<ModelWeights, dev.splitllm.engine.forward.Backend> backendFactory) {
        try {
            full = Llama2cCheckpoint.load(checkpoint(), ModelSlice.all(6));
            tokenizer = Llama2Tokenizer.load(tokenizerFile(), 32000);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ModelHost host = backendFactory == null
                ? new ModelHost(full, tokenizer, KernelProvider.best(), team, Set.of(WeightFormat.F32), null)
                : new ModelHost(full, tokenizer, backendFactory, Set.of(WeightFormat.F32), null);
        server = new CloudServer(config, host).start();
    }

    static Path checkpoint() {
        return ModelStore.stories15MDir().resolve("stories15M.bin");
    }

    static Path tokenizerFile() {
        return ModelStore.stories15MDir().resolve("tokenizer.bin");
    }

    URI uri() {
        return URI.create(server.baseUrl());
    }

    EdgeOptions options() {
        return EdgeOptions.defaults(uri(), TOKEN).withMaxSeqLen(128);
    }

    EdgeModel edge(int split) {
        try {
            return EdgeModel.load(checkpoint(), tokenizerFile(), split, 1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The unsplit model's generation, the reference every split run is compared to. */
    int[] monolithic(String prompt, int n, Sampler sampler) {
        JavaBackend backend = new JavaBackend(full, KernelProvider.best(), team);
        try (Segment seg = backend.open(128)) {
            return Generation.generate(seg, tokenizer.encode(prompt, true), n, sampler, tokenizer.eos());
        }
    }

    static EdgeOptions withTimeout(EdgeOptions o, Duration d) {
        return new EdgeOptions(o.server(), o.token(), o.codec(), o.cloudWeights(), o.maxSeqLen(), o.temperature(), o.topP(),
                o.seed(), d, o.maxReconnects());
    }

    @Override
    public void close() {
        server.close();
        team.close();
    }
}
