package dev.splitllm.cli;

import dev.splitllm.edge.EdgeException;
import dev.splitllm.edge.EdgeModel;
import dev.splitllm.edge.EdgeOptions;
import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.MoveEvent;
import dev.splitllm.edge.MoveOptions;
import dev.splitllm.edge.Speculation;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.eval.PromptSet;
import dev.splitllm.optimizer.profile.Units;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.kv.KvSpec;
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
 * {@code splitllm bench move}: what moving the cut costs, measured against what the cost model
 * predicts. An in-process cloud server behind the userspace link emulator; for each number of
 * positions, the same move toward the cloud (KV up) and back toward the edge (KV sent down, or
 * recomputed on the edge), each in a fresh session, interleaved, several runs; the median wall time
 * of the move on the edge against the prediction of {@link dev.splitllm.edge.MoveCostModel} given
 * the link's rate and the RTT and compute the session measured.
 */
@Command(name = "move", mixinStandardHelpOptions = true,
        description = {"Moving the cut mid-session over an emulated link (userspace: rate limit + RTT/2 each way): for each number",
                "of positions, a move toward the cloud (KV up) and toward the edge (KV down, or recomputed on the edge), interleaved,",
                "median of --runs; bytes, measured ms, the cost model's predicted ms and its error; which way down is cheaper.",
                "Last line: move-cost: max-error=E% down-cheaper=P:WAY,..."},
        footer = {"", "Example:", "  ./splitllm bench move --rtt 20ms --rate 100mbit --positions 64,252 --runs 5"})
public final class BenchMoveCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--rtt", defaultValue = "20ms", paramLabel = "TIME", description = "Round-trip time (default: ${DEFAULT-VALUE}).")
    String rtt;

    @Option(names = "--rate", defaultValue = "100mbit", paramLabel = "RATE", description = "Link rate, each way (default: ${DEFAULT-VALUE}).")
    String rate;

    @Option(names = "--positions", defaultValue = "64,252", split = ",", paramLabel = "N",
            description = "Positions the session holds when the cut moves (default: ${DEFAULT-VALUE}; at most the model's context - 1).")
    List<Integer> positions;

    @Option(names = "--shallow", defaultValue = "1", paramLabel = "L", description = "The shallower cut (default: ${DEFAULT-VALUE}).")
    int shallow;

    @Option(names = "--deep", defaultValue = "4", paramLabel = "L", description = "The deeper cut (default: ${DEFAULT-VALUE}).")
    int deep;

    @Option(names = "--move-kv", defaultValue = "fp32", paramLabel = "KIND", description = "KV kind (default: ${DEFAULT-VALUE}).")
    String kv;

    @Option(names = "--runs", defaultValue = "5", paramLabel = "N", description = "Runs per cell, 1..20 (default: ${DEFAULT-VALUE}).")
    int runs;

    /** The step before which the cut moves: a few decode steps first, so the session has measured the RTT. */
    private static final int MOVE_STEP = 4;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        double rttMs, bitsPerSecond;
        KvSpec kind;
        try {
            rttMs = Units.parseMillis(rtt);
            bitsPerSecond = Units.parseRate(rate);
            kind = KvSpec.parse(kv);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (runs < 1 || runs > 20) throw new ParameterException(spec.commandLine(), "--runs must be in 1..20");
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        int layers = m.weights().config().nLayers(), context = m.weights().config().seqLen();
        if (shallow < 0 || deep <= shallow || deep >= layers) {
            throw new ParameterException(spec.commandLine(), "need 0 <= --shallow < --deep <= " + (layers - 1));
        }
        for (int p : positions) {
            if (p < MOVE_STEP + 2 || p > context - MOVE_STEP) {
                throw new ParameterException(spec.commandLine(), "--positions must be in " + (MOVE_STEP + 2) + ".." + (context - MOVE_STEP));
            }
        }
        String story = String.join(" ", PromptSet.STORIES);
        double bytesPerMs = bitsPerSecond / 8 / 1000;
        double maxError = 0;
        List<String> cheaper = new ArrayList<>();
        try (LocalServer server = new LocalServer(m);
             EdgeModel atShallow = new EdgeModel(m.weights(), m.tokenizer(), KernelProvider.best(), 1, shallow);
             EdgeModel atDeep = new EdgeModel(m.weights(), m.tokenizer(), KernelProvider.best(), 1, deep);
             LinkEmulator link = new LinkEmulator(server.port(), bitsPerSecond, rttMs)) {
            out.printf(Locale.ROOT, "move cost over an emulated link: RTT %.0f ms, %s each way; cuts %d and %d of %d (%d blocks move), KV %s;"
                            + " median of %d runs; kernels %s%n", rttMs, Units.formatRate(bitsPerSecond), shallow, deep, layers, deep - shallow,
                    kind, runs, KernelProvider.best().name());
            out.println("positions  move     how        KV bytes  measured ms  predicted ms  error");
            out.flush();
            // Warm-up on loopback: JIT and class loading, so no mode pays them in its figures.
            for (MoveOptions.Down d : MoveOptions.Down.values()) {
                measure(atShallow, server.baseUrl(), server.token, prompt(m, story, 32), deep, d, kind, Double.NaN);
                measure(atDeep, server.baseUrl(), server.token, prompt(m, story, 32), shallow, d, kind, Double.NaN);
            }
            for (int p : positions) {
                String text = prompt(m, story, p - (MOVE_STEP - 1));
                double[][] ms = new double[3][runs], predicted = new double[3][runs];
                long[] bytes = new long[3];
                for (int r = 0; r < runs; r++) { // interleaved: a noisy moment hits every way alike
                    MoveEvent[] e = {
                        measure(atDeep, link.baseUrl(), server.token, text, shallow, MoveOptions.Down.AUTO, kind, bytesPerMs),
                        measure(atShallow, link.baseUrl(), server.token, text, deep, MoveOptions.Down.TRANSFER, kind, bytesPerMs),
                        measure(atShallow, link.baseUrl(), server.token, text, deep, MoveOptions.Down.RECOMPUTE, kind, bytesPerMs)};
                    for (int i = 0; i < 3; i++) {
                        if (e[i].error() != null) throw new CliFailure("move refused: " + e[i], null);
                        if (e[i].positions() != p) throw new CliFailure("moved at " + e[i].positions() + " positions, not " + p, null);
                        ms[i][r] = e[i].ms();
                        predicted[i][r] = e[i].predictedMs();
                        bytes[i] = e[i].bytesUp() + e[i].bytesDown();
                    }
                }
                String[] how = {"up", "down", "recompute"};
                String[] move = {"l=" + deep + "→" + shallow, "l=" + shallow + "→" + deep, "l=" + shallow + "→" + deep};
                double[] med = new double[3];
                for (int i = 0; i < 3; i++) {
                    med[i] = EdgeRun.median(ms[i]);
                    double pred = EdgeRun.median(predicted[i]);
                    double error = (pred - med[i]) / med[i];
                    maxError = Math.max(maxError, Math.abs(error));
                    out.printf(Locale.ROOT, "%9d  %-7s  %-9s  %9d  %11.1f  %12.1f  %+5.0f%%%n", p, move[i], how[i], bytes[i], med[i], pred,
                            100 * error);
                }
                cheaper.add(p + ":" + (med[1] <= med[2] ? "transfer" : "recompute"));
                out.flush();
            }
        } catch (EdgeException e) {
            throw new CliFailure(e.getMessage(), e);
        } catch (java.io.IOException e) {
            throw new CliFailure("cannot start the link emulator: " + e.getMessage(), e);
        }
        out.printf(Locale.ROOT, "move-cost: max-error=%.0f%% down-cheaper=%s%n", 100 * maxError, String.join(",", cheaper));
        out.flush();
        return 0;
    }

    /** The longest prefix of {@code story} that encodes to at most {@code tokens} tokens (BOS included). */
    private static String prompt(ModelLoader.Loaded m, String story, int tokens) {
        int lo = 1, hi = story.length();
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (m.tokenizer().encode(story.substring(0, mid), true).length <= tokens) lo = mid;
            else hi = mid - 1;
        }
        return story.substring(0, lo);
    }

    /** One session that moves its cut to {@code to} before step 4 and stops two steps later. */
    private static MoveEvent measure(EdgeModel edge, String baseUrl, String token, String prompt, int to, MoveOptions.Down down,
                                     KvSpec kind, double bytesPerMs) {
        EdgeOptions options = new EdgeOptions(URI.create(baseUrl), token, CodecSpec.parse(SplitOptions.DEFAULT_CODEC), "f32", 256,
                0f, 1f, 42, Duration.ofSeconds(60), 0);
        MoveOptions moves = MoveOptions.scripted(edge.splitLayer() + ":" + to + "@" + MOVE_STEP, edge.splitLayer())
                .withDown(down).withKv(kind);
        try (EdgeSession session = EdgeSession.open(edge, options, Speculation.none(), moves)) {
            // The link's rate, as a profile of it would give the planner; the RTT and compute are the session's own.
            session.costs().withLink(Double.NaN, bytesPerMs, bytesPerMs);
            session.generate(prompt, MOVE_STEP + 2, true, (id, text, stats) -> { });
            List<MoveEvent> moved = session.moves();
            if (moved.size() != 1) throw new CliFailure("expected one move, got " + moved, null);
            return moved.get(0);
        }
    }
}
