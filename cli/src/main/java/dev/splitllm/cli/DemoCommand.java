package dev.splitllm.cli;

import dev.splitllm.cloud.CloudServer;
import dev.splitllm.cloud.CloudWeights;
import dev.splitllm.cloud.ModelHost;
import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.edge.EdgeException;
import dev.splitllm.edge.EdgeModel;
import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.GenerationResult;
import dev.splitllm.engine.forward.Generation;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code splitllm demo}: the whole product on one machine. A cloud server starts in-process on
 * loopback (random port, random token), an edge agent runs the front blocks against it over a
 * real socket with the real codec, the story streams, and a summary compares it with the
 * unsplit model.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Split inference end to end on this machine: fetches the model if missing, starts a cloud",
                "server on loopback, runs the edge half against it, streams a story, and ends with a summary",
                "(bytes per token against fp16, tok/s, agreement with the unsplit model's output)."},
        footer = {"", "Example:", "  ./splitllm demo", "  ./splitllm demo --prompt \"The little dragon\" -n 128 --split 2 --codec fp16"})
public final class DemoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Mixin
    SplitOptions split;

    @Option(names = {"-p", "--prompt"}, defaultValue = "Once upon a time", description = "Prompt (default: \"${DEFAULT-VALUE}\").")
    String prompt;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "128", description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Mixin
    DraftOptions draft;

    @Mixin
    MoveCliOptions move;

    @Option(names = "--per-token", negatable = true, defaultValue = "false", fallbackValue = "true",
            description = "Also print a figures row for every step (default: off).")
    boolean perToken;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        shared.describeKernels(err);
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        split.applyPlan(m.modelFile());
        draft.applyPlan(split);
        if (split.allEdge(m.weights().config().nLayers())) {
            LocalGeneration.Result local = LocalGeneration.runAllEdge(m, split, prompt, maxTokens, shared.threads(), out, err);
            int[] promptIds = m.tokenizer().encode(prompt, true);
            try (ThreadTeam team = new ThreadTeam(1)) {
                agreement(promptIds, local.tokens(), "none (no split)", m, team, err);
            }
            return 0;
        }
        String token = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
        ServerConfig config = ServerConfig.defaults(Set.of(token));
        // Edge and cloud share this machine: one kernel thread each.
        try (ThreadTeam cloudTeam = new ThreadTeam(1);
             CloudServer server = new CloudServer(config, new ModelHost(m.weights(), m.tokenizer(), KernelProvider.best(),
                     cloudTeam, EnumSet.allOf(WeightFormat.class), CloudWeights::convert)).start();
             EdgeModel edge = EdgeModel.open(m.modelFile(), m.tokenizerFile(), split.split, split.edgeFormat(), 1,
                     move.reach(split.split, m.weights().config().nLayers()));
             DraftOptions.Opened drafter = draft.open(m.modelFile(), split.split, edge.config().vocabSize(), split.maxSeqLen, 1);
             EdgeSession session = EdgeSession.open(edge, split.edgeOptions(URI.create(server.baseUrl()), token), drafter.speculation,
                     moves(edge))) {
            err.printf(Locale.ROOT, "demo: cloud server on %s; edge runs blocks [0, %d) of %d at %s (%.2f MB), cloud runs [%d, %d) at %s;"
                            + " codec %s%n", server.baseUrl(), split.split, m.weights().config().nLayers(), split.edgeFormat().id(),
                    edge.weightBytes() / 1e6, split.split, m.weights().config().nLayers(), split.cloudFormat().id(), split.codecSpec());
            err.flush();
            MoveCliOptions.printMoves(session, err);
            if (move.detachAt != null) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--detach-at leaves the session to a server that outlives the edge;"
                        + " the demo's server stops with it: use edge --detach-at against serve");
            }
            GenerationResult r = EdgeRun.stream(session, prompt, maxTokens, out, print -> move.triggers(session, print, err));
            if (perToken) EdgeRun.perToken(r, err);
            EdgeRun.summary(r, m.weights().config().dim(), session.residentBytes(), err);
            DraftOptions.summary(drafter, r, err);
            MoveCliOptions.summary(session.moves(), err);
            agreement(r.promptTokens(), r.tokens(), split.codecSpec().toString(), m, cloudTeam, err);
        } catch (EdgeException e) {
            throw new CliFailure(e.getMessage(), e);
        }
        return 0;
    }

    /**
     * What the agreement check measured, stated plainly: the sampler, the codec and weights, and how
     * many leading tokens match. Both runs draw from the same sampler and seed, so any difference
     * comes from the split's lossy parts (the codec, quantized weights): one flipped near-tie, and
     * every later token continues a different story.
     */
    static String agreementLine(float temperature, long seed, String codec, String edgeWeights, String cloudWeights, int prefix, int total) {
        String how = (temperature == 0 ? "greedy" : String.format(Locale.ROOT, "sampled at temperature %s, seed %d", temperature, seed))
                + ", codec " + codec + ", weights " + edgeWeights + "/" + cloudWeights;
        if (prefix == total) {
            return String.format(Locale.ROOT, "agreement with the unsplit fp32 model (%s): all %d tokens identical", how, total);
        }
        boolean lossless = codec.equals("fp32") && edgeWeights.equals("f32") && cloudWeights.equals("f32");
        return String.format(Locale.ROOT, "agreement with the unsplit fp32 model (%s): first %d of %d tokens identical, then the stories"
                + " diverge (token %d differs%s)", how, prefix, total, prefix + 1,
                lossless ? "" : "; with --codec fp32 and f32 weights the split is lossless and all tokens match");
    }

    /** Runs the unsplit fp32 model with the same sampler and reports how far the split run agrees. */
    private void agreement(int[] promptTokens, int[] tokens, String codec, ModelLoader.Loaded m, ThreadTeam team, PrintWriter err) {
        Sampler sampler = new Sampler(split.temperature, split.topP, split.seed);
        int[] ref;
        try (Segment seg = new JavaBackend(m.weights(), KernelProvider.best(), team).open(split.maxSeqLen)) {
            ref = Generation.generate(seg, promptTokens, tokens.length, sampler, m.tokenizer().eos());
        }
        int prefix = 0;
        int common = Math.min(ref.length, tokens.length);
        while (prefix < common && ref[prefix] == tokens[prefix]) prefix++;
        err.println(agreementLine(split.temperature, split.seed, codec, split.edgeFormat().id(),
                split.cloudFormat().id(), prefix, ref.length));
        err.flush();
    }

    /** The session's move options: scripted, adaptive or none (a bad script or kind is a clear usage error). */
    private dev.splitllm.edge.MoveOptions moves(EdgeModel model) {
        try {
            return move.build(split.split, model.config().nLayers());
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
