package dev.splitllm.cli;

import dev.splitllm.edge.EdgeException;
import dev.splitllm.edge.EdgeModel;
import dev.splitllm.edge.EdgeOptions;
import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.MirrorOptions;
import dev.splitllm.edge.MoveController;
import dev.splitllm.edge.MoveEvent;
import dev.splitllm.edge.MoveOptions;
import dev.splitllm.edge.Speculation;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.optimizer.profile.Units;
import dev.splitllm.quantization.codec.CodecSpec;
import java.io.PrintWriter;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code splitllm bench adaptive}: the controller against staying put when the link changes
 * mid-generation. An in-process cloud server behind the userspace link emulator; the same greedy
 * generation twice per run (adaptive, then at a fixed cut), each starting on the "before" link,
 * which the emulator turns into the "after" link once {@code --change-at} tokens are in. Per-token
 * latency (time between tokens as the app sees them) before and after the change, median of runs.
 */
@Command(name = "adaptive", mixinStandardHelpOptions = true,
        description = {"The adaptive controller against a fixed cut when the link changes mid-generation (userspace link emulator:",
                "rate limit + RTT/2 each way). Each run generates --tokens greedy tokens twice, adaptive and fixed, starting at",
                "--split with the edge's KV mirrored to the cloud (--mirror); after --change-at tokens the link goes from --before",
                "to --after. Prints the moves and the per-token latency before and after the change (median of --runs).",
                "Last line: adaptive: moves=FROM→TO@STEP,... after-change-ms=A stay-put-ms=S gain=G"},
        footer = {"", "Example:", "  ./splitllm bench adaptive --before 100mbit,10ms --after 1mbit,150ms --change-at 40 --tokens 120 --runs 3"})
public final class BenchAdaptiveCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--split", defaultValue = "5", paramLabel = "L", description = "The cut both runs start at (default: ${DEFAULT-VALUE}).")
    int split;

    @Option(names = "--before", defaultValue = "100mbit,10ms", paramLabel = "RATE,RTT", description = "The link at first (default: ${DEFAULT-VALUE}).")
    String before;

    @Option(names = "--after", defaultValue = "1mbit,150ms", paramLabel = "RATE,RTT", description = "The link after the change (default: ${DEFAULT-VALUE}).")
    String after;

    @Option(names = "--change-at", defaultValue = "40", paramLabel = "N", description = "Tokens in when the link changes (default: ${DEFAULT-VALUE}).")
    int changeAt;

    @Option(names = "--tokens", defaultValue = "120", paramLabel = "N", description = "Tokens per generation (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--mirror", defaultValue = "kivi:bits=8@16", paramLabel = "KIND[@EVERY]",
            description = "The edge's KV mirror, as edge --mirror (default: ${DEFAULT-VALUE}); its bytes per token grow with the cut.")
    String mirror;

    @Option(names = "--runs", defaultValue = "1", paramLabel = "N", description = "Runs, 1..10 (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = {"-p", "--prompt"}, defaultValue = "Once upon a time", description = "Prompt (default: \"${DEFAULT-VALUE}\").")
    String prompt;

    /** One generation: its moves and the per-token latency before and after the change. */
    private record Run(List<MoveEvent> moves, double beforeMs, double afterMs, int finalSplit) {
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        double[] b, a;
        MirrorOptions mirrorOptions;
        try {
            b = link(before, "--before");
            a = link(after, "--after");
            mirrorOptions = MirrorOptions.parse(mirror);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (runs < 1 || runs > 10) throw new ParameterException(spec.commandLine(), "--runs must be in 1..10");
        if (changeAt < 4 || tokens < changeAt + 8) {
            throw new ParameterException(spec.commandLine(), "need --change-at >= 4 and --tokens >= --change-at + 8");
        }
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        int layers = m.weights().config().nLayers();
        if (split < 1 || split >= layers) throw new ParameterException(spec.commandLine(), "--split must be in 1.." + (layers - 1));
        if (tokens + 16 > m.weights().config().seqLen()) {
            throw new ParameterException(spec.commandLine(), "--tokens must leave room in the model's context of " + m.weights().config().seqLen());
        }
        double[][] afterMs = new double[2][runs], beforeMs = new double[2][runs];
        List<String> adaptiveMoves = new ArrayList<>();
        try (LocalServer server = new LocalServer(m);
             EdgeModel edge = new EdgeModel(m.weights(), m.tokenizer(), KernelProvider.best(), 1, split)) {
            int port = server.port();
            out.printf(Locale.ROOT, "adaptive cut vs a fixed cut: start l=%d of %d, link %s/%.0f ms -> %s/%.0f ms after %d of %d tokens;"
                            + " mirror %s; kernels %s%n", split, layers, Units.formatRate(b[0]), b[1], Units.formatRate(a[0]), a[1],
                    changeAt, tokens, mirrorOptions, KernelProvider.best().name());
            out.println("run  mode      moves                    ms/token before  ms/token after  final cut");
            out.flush();
            run(edge, port, server.token, b, a, mirrorOptions, true, Math.min(tokens, changeAt + 8)); // warm-up: JIT, class loading
            for (int r = 0; r < runs; r++) {
                for (int mode = 0; mode < 2; mode++) { // interleaved: adaptive, then fixed, in every run
                    boolean adaptive = mode == 0;
                    Run x = run(edge, port, server.token, b, a, mirrorOptions, adaptive, tokens);
                    beforeMs[mode][r] = x.beforeMs();
                    afterMs[mode][r] = x.afterMs();
                    String moves = describe(x.moves());
                    if (adaptive) adaptiveMoves.add(moves);
                    out.printf(Locale.ROOT, "%3d  %-8s  %-23s  %15.1f  %14.1f  l=%d%n", r + 1, adaptive ? "adaptive" : "fixed", moves,
                            x.beforeMs(), x.afterMs(), x.finalSplit());
                    out.flush();
                }
            }
        } catch (EdgeException e) {
            throw new CliFailure(e.getMessage(), e);
        } catch (java.io.IOException e) {
            throw new CliFailure("cannot start the link emulator: " + e.getMessage(), e);
        }
        double adaptiveAfter = EdgeRun.median(afterMs[0]), fixedAfter = EdgeRun.median(afterMs[1]);
        out.printf(Locale.ROOT, "median of %d: before the change %.1f (adaptive) vs %.1f (fixed) ms/token; after %.1f vs %.1f ms/token%n",
                runs, EdgeRun.median(beforeMs[0]), EdgeRun.median(beforeMs[1]), adaptiveAfter, fixedAfter);
        out.printf(Locale.ROOT, "adaptive: moves=%s after-change-ms=%.1f stay-put-ms=%.1f gain=%.2fx%n",
                adaptiveMoves.get(adaptiveMoves.size() / 2), adaptiveAfter, fixedAfter, fixedAfter / adaptiveAfter);
        out.flush();
        return 0;
    }

    private static String describe(List<MoveEvent> moves) {
        List<String> made = new ArrayList<>();
        for (MoveEvent e : moves) if (e.error() == null) made.add(e.from() + "→" + e.to() + "@" + e.step());
        return made.isEmpty() ? "none" : String.join(",", made);
    }

    /** Parses {@code RATE,RTT}, e.g. {@code 100mbit,10ms}: bit/s and ms. */
    private static double[] link(String text, String option) {
        String[] parts = text.split(",", -1);
        if (parts.length != 2) throw new IllegalArgumentException(option + " is RATE,RTT (e.g. 100mbit,10ms), got " + text);
        try {
            return new double[] {Units.parseRate(parts[0].trim()), Units.parseMillis(parts[1].trim())};
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage());
        }
    }

    /** One generation over a fresh emulated link that changes after {@link #changeAt} tokens. */
    private Run run(EdgeModel edge, int port, String token, double[] b, double[] a, MirrorOptions mirrorOptions, boolean adaptive,
                    int n) throws java.io.IOException {
        try (LinkEmulator link = new LinkEmulator(port, b[0], b[1])) {
            EdgeOptions options = new EdgeOptions(URI.create(link.baseUrl()), token, CodecSpec.parse(SplitOptions.DEFAULT_CODEC), "f32",
                    256, 0f, 1f, 42, Duration.ofSeconds(60), 0);
            MoveOptions moves = MoveOptions.none().withMirror(mirrorOptions).withKv(mirrorOptions.kind());
            if (adaptive) moves = moves.withController(new MoveController(0, split, 2.0, 8));
            long[] at = new long[n + 1];
            int[] count = {0};
            try (EdgeSession session = EdgeSession.open(edge, options, Speculation.none(), moves)) {
                session.generate(prompt, n, true, (id, text, stats) -> {
                    at[count[0]++] = System.nanoTime();
                    if (count[0] == changeAt) link.setLink(a[0], a[1]);
                });
                if (count[0] != n) throw new CliFailure("the generation stopped after " + count[0] + " of " + n + " tokens", null);
                double beforeMs = (at[changeAt - 1] - at[1]) / 1e6 / (changeAt - 2);
                double afterMs = (at[n - 1] - at[changeAt - 1]) / 1e6 / (n - changeAt);
                var c = session.costs();
                System.err.printf(Locale.ROOT, "  [%s] measured: edge %.3f ms/block, cloud %.3f ms/block, RTT %.1f ms, uplink %.0f kB/s%n",
                        adaptive ? "adaptive" : "fixed", c.edgeDecodeMsPerBlock(), c.cloudDecodeMsPerBlock(), c.rttMs(), c.upBytesPerMs());
                return new Run(session.moves(), beforeMs, afterMs, session.split());
            }
        }
    }
}
