package dev.splitllm.cli;

import dev.splitllm.cloud.CloudServer;
import dev.splitllm.cloud.CloudWeights;
import dev.splitllm.cloud.ModelHost;
import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.edge.EdgeException;
import dev.splitllm.edge.EdgeModel;
import dev.splitllm.edge.EdgeOptions;
import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.GenerationResult;
import dev.splitllm.edge.Speculation;
import dev.splitllm.edge.StepStats;
import dev.splitllm.engine.draft.DraftPolicy;
import dev.splitllm.engine.draft.Drafter;
import dev.splitllm.engine.draft.ModelDrafter;
import dev.splitllm.engine.draft.NgramDrafter;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.eval.PromptSet;
import dev.splitllm.eval.SvgChart;
import dev.splitllm.optimizer.profile.Units;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code splitllm bench speculative}: what speculation across the cut buys over an emulated link.
 * An in-process cloud server behind the userspace link emulator ({@link LinkEmulator}); per
 * drafter, the same prompts through the plain split and the speculating split, greedy: acceptance,
 * tokens per round trip, per-token latency (decode wall time over decode tokens), its ratio to the
 * RTT, and whether the tokens equal the plain split's. The last line names the best drafter.
 */
@Command(name = "speculative", mixinStandardHelpOptions = true,
        description = {"Speculation across the cut over an emulated link (userspace: rate limit + RTT/2 each way, TCP forwarder",
                "on loopback): the plain split against each drafter (ngram, exit-head, model = this model at q4_0), greedy, same",
                "codec; prints acceptance, tokens per round trip, per-token ms and its ratio to the RTT, and whether the tokens",
                "equal the plain split's. Last line: best: drafter=D tokens-per-round-trip=X per-token-over-rtt=Y identical=yes|no"},
        footer = {"", "Example:", "  ./splitllm bench speculative --rtt 50ms --uplink 10mbit",
                "  ./splitllm bench speculative --prompts 4 --tokens 64 --drafters ngram,model --chart docs/eval/speculative.svg"})
public final class BenchSpeculativeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--rtt", defaultValue = "50ms", paramLabel = "TIME", description = "Round-trip time (default: ${DEFAULT-VALUE}).")
    String rtt;

    @Option(names = "--uplink", defaultValue = "10mbit", paramLabel = "RATE",
            description = "Link rate, both directions (default: ${DEFAULT-VALUE}).")
    String uplink;

    @Option(names = "--split", defaultValue = "3", paramLabel = "L", description = "Split layer (default: ${DEFAULT-VALUE}).")
    int split;

    @Option(names = "--tokens", defaultValue = "128", paramLabel = "N", description = "Tokens per prompt (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--prompts", defaultValue = "16", paramLabel = "N",
            description = "Story prompts from the eval prompt set, 1..32 (default: ${DEFAULT-VALUE}).")
    int prompts;

    @Option(names = "--codec", defaultValue = SplitOptions.DEFAULT_CODEC, paramLabel = "SPEC",
            description = "Activation codec, the same for every run (default: ${DEFAULT-VALUE}).")
    String codec;

    @Option(names = "--drafters", defaultValue = "ngram,exit-head,model", split = ",", paramLabel = "D",
            description = "Drafters to measure: ngram, exit-head, model, model:PATH[@FORMAT] (default: ${DEFAULT-VALUE}).")
    List<String> drafters;

    @Option(names = "--draft-k", defaultValue = "auto", paramLabel = "K",
            description = "Drafts per round trip: auto or a count (default: ${DEFAULT-VALUE}).")
    String draftK;

    @Option(names = "--draft-head", paramLabel = "FILE", description = "Adapter for exit-head (default: the cache's; fitted if missing).")
    Path draftHead;

    @Option(names = "--chart", paramLabel = "FILE",
            description = "Also draw per-token latency against RTT (measured point, and the model through it) as SVG.")
    Path chart;

    private static final int MAX_SEQ_LEN = 256;

    /** One drafter's figures over all prompts. */
    record Result(String drafter, long drafted, long accepted, long decodeTokens, long decodeSteps, double decodeMs,
                  double stepComputeMs, boolean identical, double cloudMsPerStep, double rowsPerStep) {
        double tokensPerRoundTrip() {
            return decodeSteps == 0 ? 0 : decodeTokens / (double) decodeSteps;
        }

        double perTokenMs() {
            return decodeTokens == 0 ? 0 : decodeMs / decodeTokens;
        }

        double acceptance() {
            return drafted == 0 ? 0 : accepted / (double) drafted;
        }
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        double rttMs, rate;
        try {
            rttMs = Units.parseMillis(rtt);
            rate = Units.parseRate(uplink);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (prompts < 1 || prompts > PromptSet.STORIES.size()) {
            throw new ParameterException(spec.commandLine(), "--prompts must be in 1.." + PromptSet.STORIES.size());
        }
        if (tokens < 2 || tokens > 200) throw new ParameterException(spec.commandLine(), "--tokens must be in 2..200");
        int k;
        try {
            k = DraftPolicy.parseK(draftK);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        int layers = m.weights().config().nLayers();
        if (split < 1 || split >= layers) throw new ParameterException(spec.commandLine(), "--split must be in 1.." + (layers - 1));
        CodecSpec codecSpec;
        try {
            codecSpec = CodecSpec.parse(codec);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--codec: " + e.getMessage());
        }
        List<String> texts = PromptSet.STORIES.subList(0, prompts);
        String token = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
        List<Result> results = new ArrayList<>();
        try (ThreadTeam cloudTeam = new ThreadTeam(1);
             CloudServer server = new CloudServer(ServerConfig.defaults(Set.of(token)), new ModelHost(m.weights(), m.tokenizer(),
                     KernelProvider.best(), cloudTeam, EnumSet.allOf(WeightFormat.class), CloudWeights::convert)).start();
             EdgeModel front = EdgeModel.open(m.modelFile(), m.tokenizerFile(), split, WeightFormat.F32, 1)) {
            int port = URI.create(server.baseUrl()).getPort();
            out.printf(Locale.ROOT, "speculation over an emulated link: RTT %.0f ms, %s each way; split %d of %d, codec %s, greedy;"
                    + " %d prompts x %d tokens; k %s; kernels %s%n", rttMs, Units.formatRate(rate), split, layers, codecSpec, prompts,
                    tokens, draftK, KernelProvider.best().name());
            out.flush();
            // Warm-up on loopback: JIT and class loading, so no drafter pays them in its figures.
            run(front, server.baseUrl(), token, codecSpec, texts.subList(0, 1), Math.min(tokens, 16), Speculation.none(), null);
            int[][] plainTokens = new int[prompts][];
            try (LinkEmulator link = new LinkEmulator(port, rate, rttMs)) {
                results.add(run(front, link.baseUrl(), token, codecSpec, texts, tokens, Speculation.none(), plainTokens));
                print(out, results.get(0), rttMs);
                for (String name : drafters) {
                    try (Drafter d = open(name.trim(), m, err)) {
                        run(front, server.baseUrl(), token, codecSpec, texts.subList(0, 1), Math.min(tokens, 16), Speculation.with(d, k), null);
                        Result r = run(front, link.baseUrl(), token, codecSpec, texts, tokens, Speculation.with(d, k), plainTokens);
                        results.add(r);
                        print(out, r, rttMs);
                    }
                }
            }
        } catch (EdgeException e) {
            throw new CliFailure(e.getMessage(), e);
        }
        if (chart != null) writeChart(results, rttMs, err);
        Result best = results.get(0);
        for (Result r : results) if (r.perTokenMs() < best.perTokenMs()) best = r;
        out.printf(Locale.ROOT, "best: drafter=%s tokens-per-round-trip=%.2f per-token-over-rtt=%.2f identical=%s%n", best.drafter(),
                best.tokensPerRoundTrip(), best.perTokenMs() / rttMs, best.identical() ? "yes" : "no");
        out.flush();
        return 0;
    }

    private Drafter open(String name, ModelLoader.Loaded m, PrintWriter err) throws IOException {
        if (name.equals("ngram")) return new NgramDrafter();
        if (name.equals("model") || name.startsWith("model:")) {
            DraftOptions o = new DraftOptions();
            o.draft = name;
            o.draftK = draftK;
            return o.open(m.modelFile(), split, m.weights().config().vocabSize(), MAX_SEQ_LEN, 1).speculation.drafter();
        }
        if (name.equals("exit-head")) {
            Path file = draftHead != null ? draftHead : DraftOptions.defaultHeadFile(m.modelFile(), split);
            if (!Files.isRegularFile(file)) {
                err.printf("exit-head: no adapter at %s; fitting one (./splitllm calibrate --draft-head does the same)%n", file);
                err.flush();
                CalibrateCommand.fitDraftHeads(m, List.of(split), file, null, null, shared.threads(), err);
            }
            DraftOptions o = new DraftOptions();
            o.draft = name;
            o.draftK = draftK;
            o.draftHead = file;
            return o.open(m.modelFile(), split, m.weights().config().vocabSize(), MAX_SEQ_LEN, 1).speculation.drafter();
        }
        throw new ParameterException(spec.commandLine(), "--drafters: unknown drafter " + name + " (ngram, exit-head, model, model:PATH[@FORMAT])");
    }

    /** Every prompt once; {@code plain} is filled by the plain run and compared against by the others. */
    private Result run(EdgeModel front, String baseUrl, String token, CodecSpec codecSpec, List<String> texts, int n, Speculation s,
                       int[][] plain) {
        EdgeOptions options = new EdgeOptions(URI.create(baseUrl), token, codecSpec, "f32", MAX_SEQ_LEN, 0f, 1f, 42,
                Duration.ofSeconds(60), 0);
        long drafted = 0, accepted = 0, decodeTokens = 0, decodeSteps = 0;
        double decodeMs = 0, computeMs = 0, cloudMs = 0;
        long rows = 0;
        boolean identical = true;
        for (int i = 0; i < texts.size(); i++) {
            GenerationResult r;
            try (EdgeSession session = EdgeSession.open(front, options, s)) {
                r = session.generate(texts.get(i), n, true, (id, text, stats) -> { });
            }
            if (plain != null) {
                if (!s.enabled()) plain[i] = r.tokens();
                else identical &= Arrays.equals(plain[i], r.tokens());
            }
            drafted += r.drafted();
            accepted += r.accepted();
            decodeTokens += r.tokens().length - 1;
            List<StepStats> decode = r.steps().subList(1, r.steps().size());
            decodeSteps += decode.size();
            for (StepStats st : decode) {
                decodeMs += st.edgeMs() + st.encodeMs() + st.networkCloudMs();
                computeMs += st.edgeMs() + st.encodeMs() + st.cloudMs();
                cloudMs += st.cloudMs();
                rows += st.tokens();
            }
        }
        String name = s.enabled() ? s.drafter().name() : "plain";
        return new Result(name, drafted, accepted, decodeTokens, decodeSteps, decodeMs, decodeSteps == 0 ? 0 : computeMs / decodeSteps,
                identical, decodeSteps == 0 ? 0 : cloudMs / decodeSteps, decodeSteps == 0 ? 0 : rows / (double) decodeSteps);
    }

    private static void print(PrintWriter out, Result r, double rttMs) {
        out.printf(Locale.ROOT, "%-10s acceptance %5s  tokens/round trip %5.2f  per-token %7.2f ms  per-token/RTT %5.2f  identical %-3s"
                        + "  cloud %.2f ms/step for %.2f rows%n",
                r.drafter(), r.drafted() == 0 ? "-" : String.format(Locale.ROOT, "%.2f", r.acceptance()), r.tokensPerRoundTrip(),
                r.perTokenMs(), r.perTokenMs() / rttMs, r.drafter().equals("plain") ? "-" : r.identical() ? "yes" : "no",
                r.cloudMsPerStep(), r.rowsPerStep());
        out.flush();
    }

    /**
     * Per-token latency against RTT: the measured point of each drafter at the benchmark's RTT, and
     * through it the model per-token = (RTT + step compute) / tokens per round trip, holding the
     * measured compute per step and tokens per round trip fixed (with adaptive k the real k, and so
     * the line, would bend: the point is measured, the line is a model).
     */
    private void writeChart(List<Result> results, double rttMs, PrintWriter err) throws IOException {
        SvgChart c = new SvgChart("Per-token latency vs RTT (split " + split + "; points measured at " + Math.round(rttMs)
                + " ms, lines modelled)", "RTT (ms)", "per-token latency (ms)", false, false);
        double[] rtts = {5, 10, 20, 30, 50, 75, 100, 150};
        for (Result r : results) {
            double[] y = new double[rtts.length];
            double e = Math.max(1, r.tokensPerRoundTrip());
            for (int i = 0; i < rtts.length; i++) y[i] = (rtts[i] + r.stepComputeMs()) / e;
            c.add(r.drafter() + " (model)", rtts, y, true);
            c.add(r.drafter() + " (measured)", new double[] {rttMs}, new double[] {r.perTokenMs()}, false);
        }
        if (chart.getParent() != null) Files.createDirectories(chart.getParent());
        Files.writeString(chart, c.render(720, 420));
        err.println("chart: " + chart);
        err.flush();
    }
}
