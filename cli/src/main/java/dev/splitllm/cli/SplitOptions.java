package dev.splitllm.cli;

import dev.splitllm.edge.EdgeOptions;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.weights.WeightFormat;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.optimizer.plan.Plan;
import dev.splitllm.optimizer.plan.PlanFile;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.Units;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** How a split run cuts, compresses and samples: shared by {@code edge} and {@code demo}. */
public final class SplitOptions {
    /** The codec the demo and the edge use unless told otherwise. */
    public static final String DEFAULT_CODEC = "tabq:eps=1e-3,bits=2/3/4/6/8";

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = "--split", defaultValue = "3", paramLabel = "L",
            description = "Blocks [0, L) run on this device, the rest in the cloud (default: ${DEFAULT-VALUE}).")
    int split;

    @Option(names = "--codec", defaultValue = DEFAULT_CODEC, paramLabel = "SPEC",
            description = {"Activation codec at the cut (default: ${DEFAULT-VALUE}). Examples: fp32 (lossless), fp16, q8_0,",
                    "uniform:bits=4, tabq:eps=1e-3,bits=2/3/4/6/8,tau=3.5,rot,zstd."})
    String codec;

    @Option(names = "--edge-weights", defaultValue = "f32", paramLabel = "FORMAT",
            description = "Weight format of the edge blocks and embedding, OPSC's Q_w1: f32, f16, bf16, q8_0, q4_0 (default: ${DEFAULT-VALUE}).")
    String edgeWeights;

    @Option(names = "--cloud-weights", defaultValue = "f32", paramLabel = "FORMAT",
            description = "Weight format the cloud runs its blocks at, OPSC's Q_w2 (default: ${DEFAULT-VALUE}).")
    String cloudWeights;

    @Option(names = {"-t", "--temperature"}, defaultValue = "0", description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", defaultValue = "0.9", description = "Nucleus mass in (0, 1]; 1 disables (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", defaultValue = "42", description = "Sampler seed; the cloud samples (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-seq-len", defaultValue = "256", paramLabel = "N",
            description = "Positions (prompt + generated) reserved on both sides (default: ${DEFAULT-VALUE}).")
    int maxSeqLen;

    @Option(names = "--step-timeout", defaultValue = "20s", description = "Step deadline: wait this long for a token before reconnecting (default: ${DEFAULT-VALUE}).")
    String stepTimeout;

    @Option(names = "--total-timeout", defaultValue = "60s",
            description = "Total deadline of one step or REST call, reconnects included: a hung server is given up on after this (default: ${DEFAULT-VALUE}).")
    String totalTimeout;

    @Option(names = "--plan", paramLabel = "FILE",
            description = "A plan from 'splitllm plan': sets --split, --codec, --edge-weights, --cloud-weights and --max-seq-len.")
    Path plan;

    /** Applies --plan, if given, after checking it against the model it will run on. */
    void applyPlan(Path model) {
        if (plan == null) {
            return;
        }
        Plan p;
        try (ModelSource src = ModelFiles.open(model)) {
            p = PlanFile.read(plan, src.config());
        } catch (IOException e) {
            throw new CliFailure("cannot read the plan: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("unusable plan: " + e.getMessage(), e);
        }
        if (p.derived()) {
            throw new CliFailure(plan + " was planned for a derived model shape, not measured on this model");
        }
        split = p.split();
        // An all-edge plan has no cut and so no codec ("none"): the run stays on this machine.
        if (!p.codec().equals(CodecPoint.NONE)) {
            codec = p.codec();
        }
        edgeWeights = p.edgeFormat();
        cloudWeights = p.cloudFormat();
        maxSeqLen = p.maxSeqLen();
        planDraft = p.draft();
        planDraftK = p.draftK();
    }

    /** The plan's drafter and drafts per round trip (null / 0 when it does not speculate or there is no plan). */
    String planDraft;
    int planDraftK;

    /** True when every block runs on this device (a plan that found no split worth it): no cloud is needed. */
    boolean allEdge(int layers) {
        return split >= layers;
    }

    CodecSpec codecSpec() {
        try {
            return CodecSpec.parse(codec);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(mixee.commandLine(), "--codec: " + e.getMessage());
        }
    }

    WeightFormat edgeFormat() {
        return format(edgeWeights, "--edge-weights");
    }

    WeightFormat cloudFormat() {
        return format(cloudWeights, "--cloud-weights");
    }

    private WeightFormat format(String s, String flag) {
        try {
            return WeightFormat.parse(s);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(mixee.commandLine(), flag + ": " + e.getMessage());
        }
    }

    EdgeOptions edgeOptions(URI server, String token) {
        return edgeOptions(server, token, null);
    }

    /** With {@code trust} null, https/wss use the system trust store. */
    EdgeOptions edgeOptions(URI server, String token, dev.splitllm.edge.EdgeTrust trust) {
        try {
            Duration timeout = Units.parseDuration(stepTimeout);
            Duration total = Units.parseDuration(totalTimeout);
            if (total.compareTo(timeout) < 0) total = timeout; // a longer step deadline stretches the total: one step at least
            return new EdgeOptions(server, token, codecSpec(), cloudFormat().id(), maxSeqLen, temperature, topP, seed, timeout, 5,
                    total, trust);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(mixee.commandLine(), e.getMessage());
        }
    }
}
