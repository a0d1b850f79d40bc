package dev.splitllm.cloud;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.engine.forward.Backend;
import dev.splitllm.engine.forward.Generation;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.fetch.FetchListener;
import dev.splitllm.fetch.ModelFetcher;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Set;
import java.util.function.Function;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * A real cloud server on loopback serving the real stories15M, and a raw HTTP client for it: no
 * edge SDK (cloud-server cannot depend on edge-agent), requests and frames are built by hand.
 */
final class ServerFixture implements AutoCloseable {
    static final String TOKEN = "test-token-1";
    static final String OTHER_TOKEN = "test-token-2";
    static final OkHttpClient HTTP = new OkHttpClient();
    static final ObjectMapper JSON = new ObjectMapper();
    static final MediaType JSON_TYPE = MediaType.get("application/json");

    private static ModelWeights full;
    private static Llama2Tokenizer tokenizer;

    final ThreadTeam team = new ThreadTeam(1);
    final CloudServer server;
    final ModelHost host;

    ServerFixture() {
        this(ServerConfig.defaults(Set.of(TOKEN, OTHER_TOKEN)));
    }

    ServerFixture(ServerConfig config) {
        this(config, null);
    }

    /** With {@code backendFactory} null, the cloud runs on the Java engine. */
    ServerFixture(ServerConfig config, Function<ModelWeights, Backend> backendFactory) {
        this(config, backendFactory, StepScheduler.DEFAULT_TOKEN_BUDGET);
    }

    /** @param tokenBudget rows per batched tick, or {@link CloudServer#UNBATCHED} */
    ServerFixture(ServerConfig config, Function<ModelWeights, Backend> backendFactory, int tokenBudget) {
        host = backendFactory == null
                ? new ModelHost(model(), tokenizer(), KernelProvider.best(), team, Set.of(WeightFormat.F32), null)
                : new ModelHost(model(), tokenizer(), backendFactory, Set.of(WeightFormat.F32), null);
        server = new CloudServer(config, host, tokenBudget).start();
    }

    /** The whole stories15M, loaded once per test JVM (fetched first if the cache lacks it). */
    static synchronized ModelWeights model() {
        if (full == null) {
            try {
                Path dir = ModelFetcher.ensureStories15M(FetchListener.NONE);
                Path checkpoint = dir.resolve("stories15M.bin");
                LlamaConfig c = Llama2cCheckpoint.readConfig(checkpoint);
                full = Llama2cCheckpoint.load(checkpoint, ModelSlice.all(c.nLayers()));
                tokenizer = Llama2Tokenizer.load(dir.resolve("tokenizer.bin"), c.vocabSize());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return full;
    }

    static synchronized Llama2Tokenizer tokenizer() {
        model();
        return tokenizer;
    }

    static LlamaConfig config() {
        return model().config();
    }

    /** The unsplit model's generation, the reference every split run is compared to. */
    int[] monolithic(String prompt, int n, Sampler sampler) {
        JavaBackend backend = new JavaBackend(model(), KernelProvider.best(), team);
        try (Segment seg = backend.open(128)) {
            return Generation.generate(seg, tokenizer().encode(prompt, true), n, sampler, tokenizer().eos());
        }
    }

    /** A front segment [0, split) on the Java engine, as an edge would run it. */
    Segment front(int split, int maxSeqLen) {
        return new JavaBackend(model(), KernelProvider.best(), team).open(0, split, maxSeqLen);
    }

    String baseUrl() {
        return server.baseUrl();
    }

    String wsUrl(String streamPath) {
        return server.baseUrl().replaceFirst("^http", "ws") + streamPath;
    }

    record Reply(int status, JsonNode body) {
    }

    /**
     * POSTs an enveloped body (a 4-byte big-endian length, the JSON head, then {@code tail} if any:
     * the move, hand-off and replay bodies) with the fixture's token; the caller reads and closes the response.
     */
    Response postEnvelope(String path, String json, byte[] tail) throws IOException {
        byte[] head = json.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer body = java.nio.ByteBuffer.allocate(4 + head.length + (tail == null ? 0 : tail.length));
        body.putInt(head.length).put(head);
        if (tail != null) body.put(tail);
        Request req = new Request.Builder().url(server.baseUrl() + path).header("Authorization", "Bearer " + TOKEN)
                .post(RequestBody.create(body.array(), okhttp3.MediaType.get("application/octet-stream"))).build();
        return HTTP.newCall(req).execute();
    }

    /** One REST call; {@code token} and {@code body} may be null. */
    Reply call(String method, String path, String token, String body) throws IOException {
        Request.Builder b = new Request.Builder().url(server.baseUrl() + path);
        if (token != null) b.header("Authorization", "Bearer " + token);
        b.method(method, body == null ? (method.equals("POST") ? RequestBody.create(new byte[0], JSON_TYPE) : null)
                : RequestBody.create(body, JSON_TYPE));
        try (Response r = HTTP.newCall(b.build()).execute()) {
            String text = r.body().string();
            return new Reply(r.code(), text.isEmpty() ? null : JSON.readTree(text));
        }
    }

    @Override
    public void close() {
        server.close();
        host.close();
        team.close();
    }
}
