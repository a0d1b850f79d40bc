package dev.splitllm.cli;

import dev.splitllm.cloud.CloudServer;
import dev.splitllm.cloud.CloudWeights;
import dev.splitllm.cloud.ModelHost;
import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.edge.EdgeModel;
import dev.splitllm.edge.EdgeOptions;
import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.GenerationResult;
import dev.splitllm.edge.StepStats;
import dev.splitllm.edge.TokenListener;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.PrintWriter;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code splitllm bench runtime}: the split runtime over loopback. A cloud server runs
 * in-process; edge sessions run against it over real sockets, first one alone (the per-token
 * latency breakdown), then N at a time (step-latency percentiles and aggregate tok/s).
 */
@Command(name = "runtime", mixinStandardHelpOptions = true,
        description = {"Split runtime over loopback: per-token latency breakdown of one session (edge, encode,",
                "network, cloud), then N concurrent sessions: p50/p99 decode-step latency and aggregate tok/s."},
        footer = {"", "Example:", "  ./splitllm bench runtime --sessions 1,2,4,8,16 --tokens 64",
                "  ./splitllm bench runtime --codec fp16 --split 2"})
public final class BenchRuntimeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Mixin
    SplitOptions split;

    @Option(names = "--sessions", split = ",", defaultValue = "1,2,4,8,16", description = "Concurrency levels (default: ${DEFAULT-VALUE}).")
    List<Integer> levels;

    @Option(names = "--tokens", defaultValue = "64", description = "Tokens per session (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--repeats", defaultValue = "3", description = "Single-session runs for the breakdown; the median is kept (default: ${DEFAULT-VALUE}).")
    int repeats;

    private static final String PROMPT = "Once upon a time";

    @Override
    public Integer call() throws Exception {
        if (tokens < 2 || tokens > 200) throw new ParameterException(spec.commandLine(), "--tokens must be in 2..200");
        if (repeats < 1 || repeats > 50) throw new ParameterException(spec.commandLine(), "--repeats must be in 1..50");
        for (int n : levels) {
            if (n < 1 || n > 256) throw new ParameterException(spec.commandLine(), "--sessions levels must be in 1..256");
        }
        PrintWriter out = spec.commandLine().getOut();
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        split.applyPlan(m.modelFile());
        int maxLevel = levels.stream().mapToInt(Integer::intValue).max().orElse(1);
        String token = "bench";
        ServerConfig config = ServerConfig.defaults(Set.of(token)).withLimits(Math.max(64, maxLevel), 4L << 30,
                java.time.Duration.ofMinutes(5));
        try (ThreadTeam cloudTeam = new ThreadTeam(shared.threads());
             CloudServer server = new CloudServer(config, new ModelHost(m.weights(), m.tokenizer(), KernelProvider.best(),
                     cloudTeam, EnumSet.allOf(WeightFormat.class), CloudWeights::convert)).start();
             EdgeModel edge = EdgeModel.open(m.modelFile(), m.tokenizerFile(), split.split, split.edgeFormat(), 1)) {
            EdgeOptions options = split.edgeOptions(URI.create(server.baseUrl()), token).withMaxSeqLen(tokens + 16);
            out.printf(Locale.ROOT, "runtime over loopback: split %d of %d, codec %s, edge %s / cloud %s weights, %d tokens per session,"
                            + " kernels %s, cloud team %d threads, JDK %s%n", split.split, m.weights().config().nLayers(),
                    options.codec(), split.edgeFormat().id(), split.cloudFormat().id(), tokens, KernelProvider.best().name(),
                    cloudTeam.threads(), Runtime.version());
            runOne(edge, options, tokens); // warm-up: JIT, connections
            breakdown(edge, options, out);
            out.println();
            out.println("sessions  decode steps  p50 step ms  p99 step ms  aggregate tok/s  wall s");
            for (int n : levels) {
                concurrent(edge, options, n, out);
            }
        }
        return 0;
    }

    private GenerationResult runOne(EdgeModel edge, EdgeOptions options, int n) {
        try (EdgeSession s = EdgeSession.open(edge, options)) {
            return s.generate(PROMPT, n, TokenListener.NONE);
        }
    }

    private void breakdown(EdgeModel edge, EdgeOptions options, PrintWriter out) {
        double[][] rows = new double[repeats][];
        for (int r = 0; r < repeats; r++) {
            List<StepStats> decode = runOne(edge, options, tokens).steps().subList(1, tokens);
            double e = EdgeRun.median(decode.stream().mapToDouble(StepStats::edgeMs).toArray());
            double enc = EdgeRun.median(decode.stream().mapToDouble(StepStats::encodeMs).toArray());
            double netCloud = EdgeRun.median(decode.stream().mapToDouble(StepStats::networkCloudMs).toArray());
            double cloud = EdgeRun.median(decode.stream().mapToDouble(StepStats::cloudMs).toArray());
            double bytes = decode.stream().mapToDouble(StepStats::bytesUp).average().orElse(0);
            rows[r] = new double[] {e, enc, netCloud - cloud, cloud, e + enc + netCloud, bytes};
        }
        double[] med = new double[6];
        for (int c = 0; c < 6; c++) {
            int col = c;
            med[c] = EdgeRun.median(Arrays.stream(rows).mapToDouble(r -> r[col]).toArray());
        }
        out.printf(Locale.ROOT, "one session, per decode token (median of per-run medians over %d runs):%n", repeats);
        out.printf(Locale.ROOT, "  edge compute %.3f ms | encode %.3f ms | network + server overhead %.3f ms | cloud compute %.3f ms"
                + " | total %.3f ms (%.1f tok/s) | %.0f bytes up%n", med[0], med[1], med[2], med[3], med[4], 1000 / med[4], med[5]);
    }

    private void concurrent(EdgeModel edge, EdgeOptions options, int n, PrintWriter out) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            long t0 = System.nanoTime();
            List<Future<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(pool.submit(() -> runOne(edge, options, tokens)));
            }
            List<Double> steps = new ArrayList<>();
            for (Future<GenerationResult> f : futures) {
                for (StepStats s : f.get().steps().subList(1, tokens)) {
                    steps.add(s.edgeMs() + s.encodeMs() + s.networkCloudMs());
                }
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            double[] v = steps.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            out.printf(Locale.ROOT, "%8d  %12d  %11.2f  %11.2f  %15.1f  %6.2f%n", n, v.length, percentile(v, 0.50), percentile(v, 0.99),
                    (double) n * tokens / wall, wall);
            out.flush();
        } finally {
            pool.shutdownNow();
        }
    }

    static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) return 0;
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
