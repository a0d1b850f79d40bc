package dev.splitllm.cli;

import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.optimizer.DerivedProfiles;
import dev.splitllm.optimizer.plan.PlanFile;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.LinkProfile;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.optimizer.profile.Units;
import dev.splitllm.optimizer.report.PlanReport;
import dev.splitllm.optimizer.solve.Limits;
import dev.splitllm.optimizer.solve.Objective;
import dev.splitllm.optimizer.solve.PlanRequest;
import dev.splitllm.optimizer.solve.PlanResult;
import dev.splitllm.optimizer.solve.Planner;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code splitllm plan}: pick the split, the precisions, the codec and the sequence length. */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Jointly choose the split layer (0 = all cloud, L = all edge), the edge and cloud weight formats, the codec",
                "setting and the maximum sequence length under memory, latency and quality limits, from measured profiles.",
                "Prints a table per split layer and the Pareto frontier; writes plan.json and an SVG report. When nothing fits,",
                "says which limit binds and by how much. --derive llama-3.2-1b scales the profiles to a Llama-3.2-1B-shaped",
                "model (labelled derived, not measured)."},
        footer = {"", "Example:", "  ./splitllm plan --edge-profile edge.json --cloud-profile cloud.json --calibration calibration.json \\",
                "      --memory 48MB --token-latency 40ms --uplink 10mbit --rtt 50ms --seq-len 256 --out plan.json --report plan.svg"})
public final class PlanCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--edge-profile", required = true) Path edgeProfile;
    @Option(names = "--cloud-profile", required = true) Path cloudProfile;
    @Option(names = "--calibration", required = true) Path calibration;
    @Option(names = "--link", description = "Link profile JSON (or give --uplink and --rtt).") Path link;
    @Option(names = "--uplink", description = "Uplink rate, e.g. 10mbit.") String uplink;
    @Option(names = "--downlink", description = "Downlink rate (default: the uplink's).") String downlink;
    @Option(names = "--rtt", description = "Round-trip time, e.g. 50ms.") String rtt;
    @Option(names = "--memory", description = "Edge memory budget, e.g. 48MB.") String memory;
    @Option(names = "--token-latency", description = "Per-token latency limit, e.g. 40ms.") String tokenLatency;
    @Option(names = "--ttft", description = "Time-to-first-token limit, e.g. 500ms.") String ttft;
    @Option(names = "--min-agreement", description = "Quality floor: teacher-forced top-1 agreement in [0, 1].") Double minAgreement;
    @Option(names = "--max-kl", description = "Quality floor: mean KL(fp32 || split) ceiling.") Double maxKl;
    @Option(names = "--seq-len", defaultValue = "256", description = "Sequence length the plan must support (default: ${DEFAULT-VALUE}).") int seqLen;
    @Option(names = "--prompt-tokens", defaultValue = "16", description = "Prompt length for TTFT (default: ${DEFAULT-VALUE}).") int promptTokens;
    @Option(names = "--objective", defaultValue = "min-latency", description = "min-latency, max-seq-len or max-quality (default: ${DEFAULT-VALUE}).") String objective;
    @Option(names = "--derive", description = "Plan for a derived model shape instead: llama-3.2-1b.") String derive;
    @Option(names = "--out", defaultValue = "plan.json", description = "Plan file (default: ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--report", description = "SVG report file (default: next to --out, .svg).") Path report;

    @Override
    public Integer call() throws IOException {
        PrintWriter o = spec.commandLine().getOut();
        PlanRequest request;
        try {
            DeviceProfile edge = ProfileJson.readDevice(edgeProfile);
            DeviceProfile cloud = ProfileJson.readDevice(cloudProfile);
            CalibrationTable cal = ProfileJson.readCalibration(calibration);
            LinkProfile lp = link != null ? ProfileJson.readLink(link) : linkFromFlags();
            ModelShape shape;
            if (derive != null) {
                if (!derive.equalsIgnoreCase("llama-3.2-1b")) throw new ParameterException(spec.commandLine(), "--derive knows only llama-3.2-1b");
                shape = DerivedProfiles.llama32_1b();
                edge = DerivedProfiles.scale(edge, shape);
                cloud = DerivedProfiles.scale(cloud, shape);
                cal = DerivedProfiles.scale(cal, shape);
            } else {
                ModelLoader.ModelPaths paths = ModelLoader.resolve(shared, System.err);
                try (ModelSource src = ModelFiles.open(paths.model())) {
                    shape = ModelShape.of(paths.model().getFileName().toString(), src.config());
                }
            }
            Limits limits = Limits.none().withMinSeqLen(seqLen);
            if (memory != null) limits = limits.withEdgeMemory(Units.parseBytes(memory));
            if (tokenLatency != null) limits = limits.withMaxMsPerToken(Units.parseMillis(tokenLatency));
            if (ttft != null) limits = limits.withMaxTtftMs(Units.parseMillis(ttft));
            if (minAgreement != null) limits = limits.withMinAgreement(minAgreement);
            if (maxKl != null) limits = limits.withMaxKl(maxKl);
            request = PlanRequest.builder(shape, edge, cloud, lp, cal).promptTokens(promptTokens)
                    .objective(Objective.parse(objective)).limits(limits).build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        long t0 = System.nanoTime();
        PlanResult result = Planner.plan(request);
        double ms = (System.nanoTime() - t0) / 1e6;
        o.println(PlanReport.text(result));
        o.println(PlanReport.frontier(result));
        o.printf(java.util.Locale.ROOT, "planned in %.1f ms%n", ms);
        Path svg = report != null ? report : out.resolveSibling(out.getFileName().toString().replaceFirst("\\.json$", "") + ".svg");
        Files.writeString(svg, PlanReport.svg(result), StandardCharsets.UTF_8);
        if (!result.feasible()) {
            o.println("report -> " + svg);
            throw new CliFailure("no configuration meets the limits: " + result.summary());
        }
        PlanFile.write(out, PlanFile.of(result));
        o.println("plan -> " + out + ", report -> " + svg);
        return 0;
    }

    private LinkProfile linkFromFlags() {
        if (uplink == null || rtt == null) {
            throw new ParameterException(spec.commandLine(), "give --link FILE, or --uplink and --rtt");
        }
        return LinkProfile.parse(uplink, downlink != null ? downlink : uplink, rtt);
    }
}
