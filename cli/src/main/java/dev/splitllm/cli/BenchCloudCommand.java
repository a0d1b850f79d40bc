package dev.splitllm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.cloud.CloudServer;
import dev.splitllm.cloud.CloudWeights;
import dev.splitllm.cloud.ModelHost;
import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.FrameHeader;
import dev.splitllm.quantization.wire.Phase;
import dev.splitllm.quantization.wire.SessionCodec;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.WebSocket;
import okhttp3.WebSocketListener;
import okio.ByteString;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code splitllm bench cloud}: the cloud server alone. The frames are recorded first from a real
 * edge run (the front blocks' hidden states, greedy tokens) and encoded with the real codec per
 * session before the clock starts; then N sessions send them over real loopback WebSockets, each
 * waiting for its token before sending the next frame, so no edge compute shares the cores with
 * the timed part. Every answered token is checked against the recording.
 */
@Command(name = "cloud", mixinStandardHelpOptions = true,
        description = {"Cloud server throughput with pre-encoded frames over loopback: per row sessions, p50/p99",
                "decode-step ms, aggregate tok/s, batched (continuous batching) and/or unbatched."},
        footer = {"", "Example:", "  ./splitllm bench cloud --sessions 1,8,32,64 --tokens 64",
                "  ./splitllm bench cloud --sessions 1,32 --mode both --runs 3"})
public final class BenchCloudCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Mixin
    SplitOptions split;

    @Option(names = "--sessions", split = ",", defaultValue = "1,8,32,64", description = "Concurrency levels (default: ${DEFAULT-VALUE}).")
    List<Integer> levels;

    @Option(names = "--tokens", defaultValue = "64", description = "Tokens per session (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--runs", defaultValue = "3", description = "Timed runs per row; the median run (by tok/s) is printed (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--mode", defaultValue = "batched", description = "batched, unbatched or both (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--backend", defaultValue = "java", paramLabel = "java|onnx",
            description = "What computes the cloud segments; ONNX Runtime segments do not join the batch (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--token-budget", defaultValue = "128", description = "Rows per batched tick (default: ${DEFAULT-VALUE}).")
    int tokenBudget;

    private static final String PROMPT = "Once upon a time";
    private static final String TOKEN = "bench";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MediaType JSON_TYPE = MediaType.get("application/json");

    /** One timed row: decode-step latencies (client side) and the server's own compute per step. */
    private record Row(int sessions, double p50, double p99, double tokPerS, double overheadMs, double cloudMs, int errors,
                       double rowsPerTick) {}

    @Override
    public Integer call() throws Exception {
        if (tokens < 2 || tokens > 200) throw new ParameterException(spec.commandLine(), "--tokens must be in 2..200");
        if (runs < 1 || runs > 20) throw new ParameterException(spec.commandLine(), "--runs must be in 1..20");
        for (int n : levels) {
            if (n < 1 || n > 256) throw new ParameterException(spec.commandLine(), "--sessions levels must be in 1..256");
        }
        List<Integer> budgets = switch (mode) {
            case "batched" -> List.of(tokenBudget);
            case "unbatched" -> List.of(CloudServer.UNBATCHED);
            case "both" -> List.of(CloudServer.UNBATCHED, tokenBudget);
            default -> throw new ParameterException(spec.commandLine(), "--mode must be batched, unbatched or both");
        };
        PrintWriter out = spec.commandLine().getOut();
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        split.applyPlan(m.modelFile());
        int L = m.weights().config().nLayers();
        if (split.split < 1 || split.split >= L) throw new ParameterException(spec.commandLine(), "--split must be in 1.." + (L - 1));
        int maxSeqLen = tokens + 32;
        Recording rec = record(m, maxSeqLen);
        int maxLevel = levels.stream().mapToInt(Integer::intValue).max().orElse(1);
        out.printf(Locale.ROOT, "cloud server alone over loopback: split %d of %d, codec %s, cloud %s weights, %d tokens per session"
                        + " (prompt %d tokens), kernels %s, %d threads, JDK %s; median of %d runs per row%n", split.split, L,
                split.codecSpec(), split.cloudFormat().id(), tokens, rec.prompt.length, KernelProvider.best().name(), shared.threads(),
                Runtime.version(), runs);
        Row last = null, one = null;
        OkHttpClient http = new OkHttpClient.Builder().readTimeout(60, TimeUnit.SECONDS).build();
        try {
            for (int budget : budgets) {
                String name = (budget == CloudServer.UNBATCHED ? "unbatched" : "batched (budget " + budget + " rows/tick)")
                        + (backend.equals("java") ? "" : ", backend " + backend + " (never joins a batch)");
                ServerConfig config = ServerConfig.defaults(Set.of(TOKEN)).withLimits(Math.max(64, maxLevel), 8L << 30,
                        java.time.Duration.ofMinutes(5));
                try (ThreadTeam team = new ThreadTeam(shared.threads());
                     CloudServer server = new CloudServer(config, new ModelHost(m.weights(), m.tokenizer(), backend(team),
                             EnumSet.allOf(WeightFormat.class), CloudWeights::convert), budget).start()) {
                    run(http, server, rec, Math.min(8, maxLevel), maxSeqLen); // warm-up: JIT, connections
                    out.println();
                    out.println(name + ":");
                    out.println("sessions  p50 step ms  p99 step ms  aggregate tok/s  server step ms  overhead ms  rows/tick  errors");
                    for (int n : levels) {
                        Row[] rows = new Row[runs];
                        for (int r = 0; r < runs; r++) rows[r] = run(http, server, rec, n, maxSeqLen);
                        Arrays.sort(rows, (a, b) -> Double.compare(a.tokPerS, b.tokPerS));
                        Row row = rows[runs / 2];
                        out.printf(Locale.ROOT, "%8d  %11.2f  %11.2f  %15.1f  %14.3f  %11.3f  %9s  %6d%n", row.sessions, row.p50,
                                row.p99, row.tokPerS, row.cloudMs, row.overheadMs, Double.isNaN(row.rowsPerTick) ? "-"
                                        : String.format(Locale.ROOT, "%.1f", row.rowsPerTick), row.errors);
                        out.flush();
                        if (n == levels.get(0)) one = row;
                        last = row;
                    }
                }
            }
        } finally {
            http.dispatcher().executorService().shutdown();
            http.connectionPool().evictAll();
        }
        out.printf(Locale.ROOT, "cloud: sessions=%d aggregate-tok/s=%.1f speedup-vs-1=%.2f p99/p50=%.2f%n", last.sessions,
                last.tokPerS, last.tokPerS / one.tokPerS, last.p99 / last.p50);
        return 0;
    }

    private java.util.function.Function<dev.splitllm.engine.model.ModelWeights, dev.splitllm.engine.forward.Backend> backend(ThreadTeam team) {
        return switch (backend) {
            case "java" -> w -> new JavaBackend(w, KernelProvider.best(), team);
            case "onnx" -> w -> dev.splitllm.engine.onnx.OnnxBackend.create(w,
                    dev.splitllm.engine.onnx.OnnxOptions.defaults().withThreads(shared.threads()));
            default -> throw new ParameterException(spec.commandLine(), "--backend must be java or onnx, got '" + backend + "'");
        };
    }

    /** The front blocks' hidden states of a real split run and the tokens it produced (greedy). */
    private record Recording(int[] prompt, float[][] hidden, int[] tokens) {}

    private Recording record(ModelLoader.Loaded m, int maxSeqLen) {
        try (ThreadTeam team = new ThreadTeam(shared.threads())) {
            JavaBackend backend = new JavaBackend(m.weights(), KernelProvider.best(), team);
            int[] prompt = m.tokenizer().encode(PROMPT, true);
            float[][] hidden = new float[tokens][];
            int[] out = new int[tokens];
            Sampler greedy = Sampler.greedy();
            try (Segment front = backend.open(0, split.split, maxSeqLen);
                 Segment back = backend.open(split.split, m.weights().config().nLayers(), maxSeqLen)) {
                int[] input = prompt;
                for (int i = 0; i < tokens; i++) {
                    float[] h = front.embed(input);
                    front.forward(h, input.length);
                    hidden[i] = h.clone();
                    back.forward(h, input.length);
                    out[i] = greedy.sample(back.lastLogits(h, input.length));
                    input = new int[] {out[i]}; // no stop at EOS: every session sends the same number of frames
                }
            }
            return new Recording(prompt, hidden, out);
        }
    }

    /** One timed run of n sessions; sessions are created and frames encoded before the clock starts. */
    private Row run(OkHttpClient http, CloudServer server, Recording rec, int n, int maxSeqLen) throws Exception {
        CodecSpec codec = split.codecSpec();
        int dim = rec.hidden[0].length / rec.prompt.length;
        List<Client> clients = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                String body = "{\"splitLayer\":" + split.split + ",\"codec\":\"" + codec + "\",\"cloudWeights\":\""
                        + split.cloudFormat().id() + "\",\"maxSeqLen\":" + maxSeqLen + ",\"temperature\":0,\"topP\":1,\"seed\":1}";
                JsonNode created;
                try (Response r = http.newCall(new Request.Builder().url(server.baseUrl() + "/v1/sessions")
                        .header("Authorization", "Bearer " + TOKEN).post(RequestBody.create(body, JSON_TYPE)).build()).execute()) {
                    String text = r.body().string();
                    if (r.code() != 201) throw new IllegalStateException("session refused: " + r.code() + " " + text);
                    created = JSON.readTree(text);
                }
                Client c = new Client(created.path("sessionId").asText());
                SessionCodec wire = new SessionCodec(codec);
                long tag = created.path("frameSession").asLong();
                int position = 0;
                for (int s = 0; s < tokens; s++) {
                    int t = s == 0 ? rec.prompt.length : 1;
                    FrameHeader h = new FrameHeader(tag, s, s == 0 ? Phase.PREFILL : Phase.DECODE, split.split, position, t, dim, codec);
                    c.frames.add(wire.encodeFrame(h, rec.hidden[s]));
                    position += t;
                }
                c.socket = http.newWebSocket(new Request.Builder().url(server.baseUrl().replaceFirst("^http", "ws")
                        + created.path("streamPath").asText()).header("Authorization", "Bearer " + TOKEN).build(), c);
                clients.add(c);
            }
            for (Client c : clients) {
                if (!c.open.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("socket did not open");
            }
            ExecutorService pool = Executors.newFixedThreadPool(n);
            try {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<double[][]>> futures = new ArrayList<>();
                for (Client c : clients) futures.add(pool.submit(() -> {
                    go.await();
                    return c.drive(rec.tokens);
                }));
                long[] before = server.batchingStats();
                long t0 = System.nanoTime();
                go.countDown();
                List<double[]> steps = new ArrayList<>();
                int errors = 0;
                for (Future<double[][]> f : futures) {
                    double[][] r = f.get();
                    for (int s = 1; s < r.length; s++) {
                        if (r[s] == null) errors++;
                        else steps.add(r[s]);
                    }
                    if (r[0] == null) errors++;
                }
                double wall = (System.nanoTime() - t0) / 1e9;
                double[] lat = steps.stream().mapToDouble(s -> s[0]).sorted().toArray();
                double[] over = steps.stream().mapToDouble(s -> s[0] - s[1]).sorted().toArray();
                double[] cloud = steps.stream().mapToDouble(s -> s[1]).sorted().toArray();
                long[] after = server.batchingStats();
                // NaN when no tick ran (unbatched, or a backend that does not join the batch)
                double perTick = after == null || after[0] == before[0] ? Double.NaN
                        : (double) (after[1] - before[1]) / (after[0] - before[0]);
                return new Row(n, BenchRuntimeCommand.percentile(lat, 0.5), BenchRuntimeCommand.percentile(lat, 0.99),
                        (double) n * tokens / wall, BenchRuntimeCommand.percentile(over, 0.5),
                        BenchRuntimeCommand.percentile(cloud, 0.5), errors, perTick);
            } finally {
                pool.shutdownNow();
            }
        } finally {
            for (Client c : clients) {
                if (c.socket != null) c.socket.close(1000, "done");
                try (Response r = http.newCall(new Request.Builder().url(server.baseUrl() + "/v1/sessions/" + c.id)
                        .header("Authorization", "Bearer " + TOKEN).delete().build()).execute()) {
                    r.body().close();
                }
            }
        }
    }

    /** One session's socket: frames go up one at a time, each waits for its answer. */
    private final class Client extends WebSocketListener {
        final String id;
        final List<byte[]> frames = new ArrayList<>();
        final BlockingQueue<String> replies = new ArrayBlockingQueue<>(4); // one answer per frame in flight
        final CountDownLatch open = new CountDownLatch(1);
        volatile WebSocket socket;

        Client(String id) {
            this.id = id;
        }

        @Override
        public void onOpen(WebSocket ws, Response response) {
            open.countDown();
        }

        @Override
        public void onMessage(WebSocket ws, String text) {
            replies.offer(text);
        }

        @Override
        public void onFailure(WebSocket ws, Throwable t, Response response) {
            replies.offer("{\"type\":\"error\",\"message\":\"" + t.getClass().getSimpleName() + "\"}");
        }

        /** Per step {client ms, server compute ms}, or null where the answer was wrong or an error. */
        double[][] drive(int[] expected) throws Exception {
            double[][] out = new double[frames.size()][];
            for (int s = 0; s < frames.size(); s++) {
                long t0 = System.nanoTime();
                socket.send(ByteString.of(frames.get(s)));
                JsonNode m = null;
                while (m == null) { // skip any message that is not an answer
                    String text = replies.poll(60, TimeUnit.SECONDS);
                    if (text == null) return out;
                    JsonNode j = JSON.readTree(text);
                    String type = j.path("type").asText();
                    if (type.equals("token") || type.equals("error")) m = j;
                }
                double ms = (System.nanoTime() - t0) / 1e6;
                String text = m.toString();
                if (!"token".equals(m.path("type").asText()) || m.path("token").asInt() != expected[s]) {
                    if (!"token".equals(m.path("type").asText())) System.err.println("step " + s + ": " + text);
                    continue;
                }
                out[s] = new double[] {ms, m.path("cloudMs").asDouble()};
            }
            return out;
        }
    }
}
