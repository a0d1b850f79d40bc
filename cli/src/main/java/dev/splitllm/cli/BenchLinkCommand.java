package dev.splitllm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.cloud.CloudServer;
import dev.splitllm.cloud.CloudWeights;
import dev.splitllm.cloud.ModelHost;
import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.edge.EdgeException;
import dev.splitllm.edge.EdgeModel;
import dev.splitllm.edge.EdgeOptions;
import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.Speculation;
import dev.splitllm.edge.GenerationResult;
import dev.splitllm.edge.StepStats;
import dev.splitllm.eval.LatencyChart;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.protocol.CompletionRequest;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code splitllm bench link}: time to first token and per-token latency against link rate and
 * round-trip time, with the link emulated in userspace ({@link LinkEmulator}) in front of one
 * in-process cloud server. The userspace fallback of {@code scripts/link-emulation.sh} for
 * kernels without {@code sch_netem}; writes the same CSV, so {@link LatencyChart} draws it.
 *
 * <p>Modes per (rate, RTT): {@code cloud-only} (split 0: the edge only embeds and ships fp16
 * embeddings, since the split protocol has no token-id uplink), {@code cloud-completions}
 * (one non-streaming {@code POST /v1/completions}), {@code split} with each codec; and
 * {@code edge-only} (the whole model on this device, no link) once.
 */
@Command(name = "link", mixinStandardHelpOptions = true,
        description = {"TTFT and per-token latency of cloud-only, split (fp16, q8_0, TS+TAB-Q, TS+TAB-Q+zstd) and edge-only",
                "over a link emulated in userspace (rate limit + RTT/2 delay per direction, TCP forwarder on loopback)",
                "in front of an in-process cloud server. Writes mode,codec,rate_mbit,rtt_ms,run,wall_ms,ttft_ms,per_token_ms."},
        footer = {"", "Example:", "  ./splitllm bench link --charts docs/eval", "  ./splitllm bench link --rates 1,10 --rtts 50 --tokens 16"})
public final class BenchLinkCommand implements Callable<Integer> {
    /** The TS + TAB-Q codec the split runs use (without and with zstd). */
    static final String TABQ = "tabq:eps=1e-3,bits=2/3/4/6/8";
    /** Codec labels (CSV-safe, no commas) and the codec each one runs. */
    static final Map<String, String> CODECS = codecs();
    private static final int MAX_SEQ_LEN = 256;

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Mixin
    DraftOptions draft;

    /** The split runs' speculation (--draft), opened once for the front model. */
    private Speculation speculation = Speculation.none();

    @Option(names = "--rates", split = ",", defaultValue = "1,10,100", paramLabel = "MBIT",
            description = "Link rates in Mbit/s, each direction (default: ${DEFAULT-VALUE}).")
    List<Double> rates;

    @Option(names = "--rtts", split = ",", defaultValue = "20,50,100", paramLabel = "MS",
            description = "Round-trip times in ms (default: ${DEFAULT-VALUE}).")
    List<Integer> rtts;

    @Option(names = "--tokens", defaultValue = "32", description = "Tokens per generation (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--split", defaultValue = "3", paramLabel = "L",
            description = "Blocks [0, L) on the edge for the split runs (default: ${DEFAULT-VALUE}).")
    int split;

    @Option(names = {"-p", "--prompt"}, defaultValue = "Once upon a time, there was a little fox who lived in a hollow log.",
            description = "Prompt (default: \"${DEFAULT-VALUE}\").")
    String prompt;

    @Option(names = "--repeats", defaultValue = "1", description = "Runs per cell (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--csv", defaultValue = "link-results/latency.csv", paramLabel = "FILE",
            description = "CSV to write (default: ${DEFAULT-VALUE}).")
    Path csv;

    @Option(names = "--ttft-check",
            description = "Only the issue-19 check: TTFT of a 200-token prompt at 1 Mbit/s and 20 ms RTT, fp16 wire vs the"
                    + " default codec (tables calibrated on the model's own continuations of the story openings), --repeats runs each"
                    + " (default 3 here); the last line is the speed-up.")
    boolean ttftCheck;

    @Option(names = "--charts", paramLabel = "DIR",
            description = "Also write per-token and TTFT SVG charts per RTT (link-per-token-rttN.svg, link-ttft-rttN.svg) here.")
    Path charts;

    private final ObjectMapper json = new ObjectMapper();

    private static Map<String, String> codecs() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("fp16", "fp16");
        m.put("q8_0", "q8_0");
        m.put("tabq", TABQ);
        m.put("tabq+zstd", TABQ + ",zstd");
        return m;
    }

    /** One CSV row. */
    record Row(String mode, String codec, double rateMbit, int rttMs, int run, double wallMs, double ttftMs, double perTokenMs,
               double bytesPerToken) {
        String csv() {
            return String.format(Locale.ROOT, "%s,%s,%s,%d,%d,%.1f,%.2f,%.3f", mode, codec, rate(), rttMs, run, wallMs, ttftMs,
                    perTokenMs);
        }

        String rate() {
            return rateMbit == Math.rint(rateMbit) ? Long.toString((long) rateMbit) : Double.toString(rateMbit);
        }
    }

    private void validate() {
        if (rates.isEmpty() || rates.size() > 16) bad("--rates: give 1..16 rates");
        for (double r : rates) {
            if (!(r >= 0.01 && r <= 100_000)) bad("--rates: each rate must be in 0.01..100000 Mbit/s, got " + r);
        }
        if (rtts.isEmpty() || rtts.size() > 16) bad("--rtts: give 1..16 round-trip times");
        for (int r : rtts) {
            if (r < 0 || r > 2000) bad("--rtts: each RTT must be in 0..2000 ms, got " + r);
        }
        if (tokens < 2 || tokens > 200) bad("--tokens must be in 2..200");
        if (repeats < 1 || repeats > 20) bad("--repeats must be in 1..20");
    }

    private void bad(String message) {
        throw new ParameterException(spec.commandLine(), message);
    }

    @Override
    public Integer call() throws Exception {
        validate();
        PrintWriter out = spec.commandLine().getOut();
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        int layers = m.weights().config().nLayers();
        if (split < 1 || split >= layers) bad("--split must be in 1.." + (layers - 1) + " for this model");
        int promptLen = m.tokenizer().encode(prompt, true).length;
        if (prompt.isBlank() || promptLen + tokens > MAX_SEQ_LEN) {
            bad("--prompt is " + promptLen + " tokens; prompt + --tokens must fit in " + MAX_SEQ_LEN + " positions");
        }
        String token = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
        if (ttftCheck) {
            return ttftCheck(out, m, token, layers);
        }
        List<Row> rows = new ArrayList<>();
        long t0 = System.nanoTime();
        // Edge and cloud share this machine: one kernel thread each.
        try (ThreadTeam cloudTeam = new ThreadTeam(1);
             ThreadTeam edgeTeam = new ThreadTeam(1);
             CloudServer server = new CloudServer(ServerConfig.defaults(Set.of(token)), new ModelHost(m.weights(), m.tokenizer(),
                     KernelProvider.best(), cloudTeam, EnumSet.allOf(WeightFormat.class), CloudWeights::convert)).start();
             EdgeModel embedOnly = EdgeModel.open(m.modelFile(), m.tokenizerFile(), 0, WeightFormat.F32, 1);
             EdgeModel front = EdgeModel.open(m.modelFile(), m.tokenizerFile(), split, WeightFormat.F32, 1);
             DraftOptions.Opened drafter = draft.open(m.modelFile(), split, m.weights().config().vocabSize(), MAX_SEQ_LEN, 1)) {
            speculation = drafter.speculation;
            int serverPort = URI.create(server.baseUrl()).getPort();
            out.printf(Locale.ROOT, "link emulation in userspace (TCP forwarder on loopback; rate + RTT/2 each way): split %d of %d,"
                    + " %d tokens, prompt %d tokens, kernels %s, JDK %s%n", split, layers, tokens, promptLen,
                    KernelProvider.best().name(), Runtime.version());
            out.flush();
            // Warm-up without emulation: JIT, class loading.
            for (String codec : CODECS.values()) splitRun(front, server.baseUrl(), token, codec, Math.min(tokens, 8));
            splitRun(embedOnly, server.baseUrl(), token, "fp16", Math.min(tokens, 8));
            completion(HttpClient.newHttpClient(), server.baseUrl(), token, Math.min(tokens, 8));
            edgeOnly(m, edgeTeam, Math.min(tokens, 8));

            out.println();
            out.println("mode               codec       Mbit/s  RTT ms   wall ms   TTFT ms  per-token ms  bytes/token up");
            for (int r = 1; r <= repeats; r++) {
                double[] e = edgeOnly(m, edgeTeam, tokens);
                print(out, rows, new Row("edge-only", "-", 0, 0, r, e[0], e[1], e[2], 0));
            }
            for (double rate : rates) {
                for (int rtt : rtts) {
                    try (LinkEmulator link = new LinkEmulator(serverPort, rate * 1e6, rtt)) {
                        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
                        for (int r = 1; r <= repeats; r++) {
                            print(out, rows, measured("cloud-only", "fp16-emb", rate, rtt, r,
                                    splitRun(embedOnly, link.baseUrl(), token, "fp16", tokens)));
                            double[] c = completion(http, link.baseUrl(), token, tokens);
                            print(out, rows, new Row("cloud-completions", "-", rate, rtt, r, c[0], c[0], c[0] / c[1], 0));
                            for (Map.Entry<String, String> codec : CODECS.entrySet()) {
                                print(out, rows, measured("split", codec.getKey(), rate, rtt, r,
                                        splitRun(front, link.baseUrl(), token, codec.getValue(), tokens)));
                            }
                        }
                    }
                }
            }
        } catch (EdgeException e) {
            throw new CliFailure(e.getMessage(), e);
        } finally {
            if (!rows.isEmpty()) write(rows); // what was measured, also when a cell fails
        }
        out.printf(Locale.ROOT, "%nwrote %s (%d rows) in %.0f s%n", csv, rows.size(), (System.nanoTime() - t0) / 1e9);
        if (charts != null) {
            List<String> lines = Files.readAllLines(csv);
            Files.createDirectories(charts);
            for (int rtt : rtts) {
                for (boolean ttft : new boolean[] {false, true}) {
                    Path f = charts.resolve("link-" + (ttft ? "ttft" : "per-token") + "-rtt" + rtt + ".svg");
                    Files.writeString(f, LatencyChart.render(lines, rtt, ttft));
                    out.println("wrote " + f);
                }
            }
        }
        out.flush();
        return 0;
    }

    /** Prompt tokens of the TTFT check. */
    static final int CHECK_PROMPT_TOKENS = 200;

    /**
     * TTFT of a {@value #CHECK_PROMPT_TOKENS}-token prompt over an emulated 1 Mbit/s, 20 ms RTT link: fp16 wire vs
     * the default codec, median of the runs; prints {@code ttft: ... speedup=X.XXx} last.
     */
    private int ttftCheck(PrintWriter out, ModelLoader.Loaded m, String token, int layers) throws Exception {
        int runs = repeats == 1 ? 3 : repeats;
        StringBuilder text = new StringBuilder();
        String[] words = (prompt + " ").repeat(64).split(" ");
        int used = 0;
        // the longest prefix of the repeated prompt that is at most 200 tokens (BOS included)
        while (used < words.length && m.tokenizer().encode(text + words[used], true).length <= CHECK_PROMPT_TOKENS) {
            text.append(used == 0 ? "" : " ").append(words[used]);
            used++;
        }
        String longPrompt = text.toString();
        int promptLen = m.tokenizer().encode(longPrompt, true).length;
        int n = 2;
        CodecSpec codec;
        try (ThreadTeam team = new ThreadTeam(1)) {
            codec = dev.splitllm.eval.CodecCalibration.bind(new dev.splitllm.engine.forward.Transformer(m.weights(),
                    KernelProvider.best(), team), m.tokenizer(), split, dev.splitllm.eval.EvalHarness.DEFAULT_CODEC);
        }
        double fp16Ms, codecMs;
        double[] fp16 = new double[runs], coded = new double[runs];
        long fp16Bytes = 0, codecBytes = 0;
        try (ThreadTeam cloudTeam = new ThreadTeam(1);
             CloudServer server = new CloudServer(ServerConfig.defaults(Set.of(token)), new ModelHost(m.weights(), m.tokenizer(),
                     KernelProvider.best(), cloudTeam, EnumSet.allOf(WeightFormat.class), CloudWeights::convert)).start();
             EdgeModel front = EdgeModel.open(m.modelFile(), m.tokenizerFile(), split, WeightFormat.F32, 1);
             DraftOptions.Opened drafter = draft.open(m.modelFile(), split, m.weights().config().vocabSize(), MAX_SEQ_LEN, 1)) {
            speculation = drafter.speculation;
            int serverPort = URI.create(server.baseUrl()).getPort();
            out.printf(Locale.ROOT, "TTFT check: split %d of %d, prompt %d tokens, 1 Mbit/s each way, RTT 20 ms (userspace emulator),"
                    + " %d runs per codec; default codec %s%n", split, layers, promptLen, runs, codec);
            splitRun(front, server.baseUrl(), token, "fp16", n, longPrompt); // warm-up
            splitRun(front, server.baseUrl(), token, codec.toString(), n, longPrompt);
            try (LinkEmulator link = new LinkEmulator(serverPort, 1e6, 20)) {
                for (int r = 0; r < runs; r++) {
                    Timed a = splitRun(front, link.baseUrl(), token, "fp16", n, longPrompt);
                    Timed b = splitRun(front, link.baseUrl(), token, codec.toString(), n, longPrompt);
                    fp16[r] = a.ttftMs();
                    coded[r] = b.ttftMs();
                    fp16Bytes = a.result().steps().get(0).bytesUp();
                    codecBytes = b.result().steps().get(0).bytesUp();
                    out.printf(Locale.ROOT, "run %d: fp16 TTFT %.1f ms (prefill frame %d B), default codec TTFT %.1f ms (prefill frame %d B)%n",
                            r + 1, a.ttftMs(), fp16Bytes, b.ttftMs(), codecBytes);
                    out.flush();
                }
            }
        } catch (EdgeException e) {
            throw new CliFailure(e.getMessage(), e);
        }
        fp16Ms = EdgeRun.median(fp16);
        codecMs = EdgeRun.median(coded);
        out.printf(Locale.ROOT, "ttft: prompt=%d tokens rate=1 Mbit/s rtt=20 ms fp16=%.1f ms codec=%.1f ms speedup=%.2fx%n",
                promptLen, fp16Ms, codecMs, fp16Ms / codecMs);
        out.flush();
        return 0;
    }

    /** A split generation: wall, time to first token, timed from the start of generate. */
    private record Timed(GenerationResult result, double wallMs, double ttftMs) {}

    private Timed splitRun(EdgeModel model, String baseUrl, String token, String codec, int n) {
        return splitRun(model, baseUrl, token, codec, n, prompt);
    }

    private Timed splitRun(EdgeModel model, String baseUrl, String token, String codec, int n, String prompt) {
        EdgeOptions options = new EdgeOptions(URI.create(baseUrl), token, CodecSpec.parse(codec), "f32", MAX_SEQ_LEN, 0f, 0.9f, 42,
                Duration.ofSeconds(60), 0);
        // Only the split runs speculate: the embed-only edge (cloud-only mode) runs the plain protocol.
        Speculation spec = model.splitLayer() > 0 ? speculation : Speculation.none();
        try (EdgeSession s = EdgeSession.open(model, options, spec)) {
            long[] first = {0};
            long t0 = System.nanoTime();
            GenerationResult r = s.generate(prompt, n, (id, text, stats) -> {
                if (first[0] == 0) first[0] = System.nanoTime();
            });
            long t1 = System.nanoTime();
            return new Timed(r, (t1 - t0) / 1e6, (first[0] - t0) / 1e6);
        }
    }

    private static Row measured(String mode, String codec, double rate, int rtt, int run, Timed t) {
        List<StepStats> decode = t.result().steps().subList(1, t.result().steps().size());
        double perToken = EdgeRun.median(decode.stream().mapToDouble(s -> s.edgeMs() + s.encodeMs() + s.networkCloudMs()).toArray());
        int decodeTokens = t.result().tokens().length - 1;
        if (t.result().drafted() > 0 && decodeTokens > 0) { // several tokens per step: the mean over the tokens
            perToken = decode.stream().mapToDouble(s -> s.edgeMs() + s.encodeMs() + s.networkCloudMs()).sum() / decodeTokens;
        }
        double bytes = decode.stream().mapToDouble(StepStats::bytesUp).average().orElse(0);
        return new Row(mode, codec, rate, rtt, run, t.wallMs(), t.ttftMs(), perToken, bytes);
    }

    /** One non-streaming {@code POST /v1/completions}: {wall ms, tokens returned}. */
    private double[] completion(HttpClient http, String baseUrl, String token, int n) throws IOException, InterruptedException {
        String body = json.writeValueAsString(new CompletionRequest(prompt, n, 0f, 0.9f, 42));
        HttpRequest req = HttpRequest.newBuilder(URI.create(baseUrl + "/v1/completions"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
        long t0 = System.nanoTime();
        HttpResponse<String> resp = http.send(req, HttpResponse.BodyHandlers.ofString());
        long t1 = System.nanoTime();
        if (resp.statusCode() != 200) {
            throw new CliFailure("POST /v1/completions answered " + resp.statusCode() + ": " + resp.body());
        }
        JsonNode tokensNode = json.readTree(resp.body()).get("tokens");
        int got = tokensNode == null ? n : Math.max(1, tokensNode.size());
        return new double[] {(t1 - t0) / 1e6, got};
    }

    /** The whole model on this device, one kernel thread, greedy: {wall ms, TTFT ms, median per-token ms}. */
    private double[] edgeOnly(ModelLoader.Loaded m, ThreadTeam team, int n) {
        Sampler sampler = new Sampler(0f, 0.9f, 42);
        try (Segment seg = new JavaBackend(m.weights(), KernelProvider.best(), team).open(MAX_SEQ_LEN)) {
            long t0 = System.nanoTime();
            int[] ids = m.tokenizer().encode(prompt, true);
            float[] x = seg.embed(ids);
            seg.forward(x, ids.length);
            int next = sampler.sample(seg.lastLogits(x, ids.length));
            long first = System.nanoTime();
            double[] steps = new double[n - 1];
            for (int i = 0; i < n - 1; i++) {
                long s = System.nanoTime();
                x = seg.embed(new int[] {next});
                seg.forward(x, 1);
                next = sampler.sample(seg.lastLogits(x, 1));
                steps[i] = (System.nanoTime() - s) / 1e6;
            }
            long t1 = System.nanoTime();
            return new double[] {(t1 - t0) / 1e6, (first - t0) / 1e6, EdgeRun.median(steps)};
        }
    }

    private static void print(PrintWriter out, List<Row> rows, Row r) {
        rows.add(r);
        out.printf(Locale.ROOT, "%-18s %-10s %7s %7d %9.1f %9.1f %13.2f %15s%n", r.mode(), r.codec(), r.rate(), r.rttMs(),
                r.wallMs(), r.ttftMs(), r.perTokenMs(), r.bytesPerToken() > 0 ? String.format(Locale.ROOT, "%.0f", r.bytesPerToken()) : "-");
        out.flush();
    }

    private void write(List<Row> rows) throws IOException {
        Path parent = csv.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        List<String> lines = new ArrayList<>();
        lines.add("mode,codec,rate_mbit,rtt_ms,run,wall_ms,ttft_ms,per_token_ms");
        for (Row r : rows) lines.add(r.csv());
        Files.write(csv, lines);
    }
}
