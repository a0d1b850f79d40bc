package dev.splitllm.cli;

import dev.splitllm.engine.draft.Drafter;
import dev.splitllm.engine.draft.ModelDrafter;
import dev.splitllm.engine.draft.NgramDrafter;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.eval.DraftAcceptance;
import dev.splitllm.optimizer.DerivedProfiles;
import dev.splitllm.optimizer.cost.DraftProfile;
import dev.splitllm.optimizer.plan.PlanFile;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.CodecPoint;
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
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code splitllm plan}: pick the split, the precisions, the codec and the sequence length. With no
 * profile files it measures this machine and calibrates once per model and machine (cached), so
 * one command is enough.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Jointly choose the split layer (0 = all cloud, L = all edge), the edge and cloud weight formats, the codec",
                "setting and the maximum sequence length under memory, latency and quality limits, from measured profiles.",
                "Without --edge-profile / --calibration it profiles this machine and calibrates the model on first use",
                "(a few minutes, with progress; cached per model and machine in the splitllm cache, reused later).",
                "Unless --min-agreement or --max-kl is given, the quality floor is the agreement the q8_0 wire codec reaches",
                "(the lowest over split layers in the calibration table).",
                "Prints a table per split layer and the Pareto frontier; writes plan.json and an SVG report (infeasible points",
                "name the limit they break). When nothing fits, says which limit binds and by how much. --derive llama-3.2-1b",
                "scales the profiles to a Llama-3.2-1B-shaped model (labelled derived, not measured).",
                "--draft lets split plans speculate across the cut (greedy decoding): the edge drafts k tokens, the cloud verifies",
                "them in one round trip, which then yields E(k) = (1 - alpha^(k+1)) / (1 - alpha) tokens on average. The drafter's",
                "acceptance rate alpha, its time per draft (on this machine) and its memory are measured first on the planned model",
                "(teacher-forced over the model's own greedy continuations of built-in story prompts); the plan drafts, with the",
                "best k, only where that is better under the objective and fits the limits, and reports the drafter, k and the",
                "expected tokens per round trip."},
        footer = {"", "Examples:", "  ./splitllm plan --memory 48MB --uplink 10mbit --rtt 50ms",
                "  ./splitllm plan --memory 48MB --token-latency 40ms --uplink 10mbit --rtt 50ms --seq-len 256 --out plan.json --report plan.svg",
                "  ./splitllm plan --edge-profile edge.json --cloud-profile cloud.json --calibration calibration.json --link link.json --memory 48MB",
                "  ./splitllm plan --memory 48MB --uplink 10mbit --rtt 50ms --draft model",
                "  ./splitllm plan --memory 48MB --uplink 10mbit --rtt 50ms --draft model:draft.gguf@q8_0 --draft-max-k 4",
                "  ./splitllm demo --plan plan.json",
                "",
                "Profile files: ./splitllm profile --name edge --out edge.json (run on the edge device), ./splitllm calibrate --out calibration.json."})
public final class PlanCommand implements Callable<Integer> {
    /** The codec whose agreement is the default quality floor. */
    static final String FLOOR_CODEC = "q8_0";

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--edge-profile", paramLabel = "FILE",
            description = "Device profile of the edge device (from ./splitllm profile on that device). Default: this machine, profiled once and cached.")
    Path edgeProfile;
    @Option(names = "--cloud-profile", paramLabel = "FILE",
            description = "Device profile of the cloud host (from ./splitllm profile on the server). Default: the edge profile (this machine serves too).")
    Path cloudProfile;
    @Option(names = "--calibration", paramLabel = "FILE",
            description = "Calibration table (from ./splitllm calibrate). Default: calibrated on this model once and cached.")
    Path calibration;
    @Option(names = "--link", paramLabel = "FILE", description = "Link profile JSON (from ./splitllm profile --link), or give --uplink and --rtt.") Path link;
    @Option(names = "--uplink", paramLabel = "RATE", description = "Uplink rate, e.g. 10mbit.") String uplink;
    @Option(names = "--downlink", paramLabel = "RATE", description = "Downlink rate (default: the uplink's).") String downlink;
    @Option(names = "--rtt", paramLabel = "TIME", description = "Round-trip time, e.g. 50ms.") String rtt;
    @Option(names = "--memory", paramLabel = "BYTES", description = "Edge memory budget, e.g. 48MB (default: no limit).") String memory;
    @Option(names = "--token-latency", paramLabel = "TIME", description = "Per-token latency limit, e.g. 40ms (default: no limit).") String tokenLatency;
    @Option(names = "--ttft", paramLabel = "TIME", description = "Time-to-first-token limit, e.g. 500ms (default: no limit).") String ttft;
    @Option(names = "--min-agreement", paramLabel = "A",
            description = "Quality floor: teacher-forced top-1 agreement in [0, 1] (default: the q8_0 wire codec's agreement; 0 turns the floor off).") Double minAgreement;
    @Option(names = "--max-kl", paramLabel = "KL", description = "Quality floor: mean KL(fp32 || split) ceiling (replaces the default agreement floor).") Double maxKl;
    @Option(names = "--seq-len", defaultValue = "256", paramLabel = "N", description = "Sequence length the plan must support (default: ${DEFAULT-VALUE}).") int seqLen;
    @Option(names = "--prompt-tokens", defaultValue = "16", paramLabel = "N", description = "Prompt length for TTFT (default: ${DEFAULT-VALUE}).") int promptTokens;
    @Option(names = "--objective", defaultValue = "min-latency", description = "min-latency, max-seq-len or max-quality (default: ${DEFAULT-VALUE}).") String objective;
    @Option(names = "--derive", paramLabel = "SHAPE", description = "Plan for a derived model shape instead: llama-3.2-1b.") String derive;
    @Option(names = "--out", defaultValue = "plan.json", paramLabel = "FILE", description = "Plan file (default: ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--report", paramLabel = "FILE", description = "SVG report file (default: next to --out, .svg).") Path report;
    @Option(names = "--draft", paramLabel = "DRAFTER",
            description = "Let split plans speculate with a drafter: ngram (lookup in the session's own tokens, no memory), model (the planned"
                    + " model itself at q4_0) or model:PATH[@FORMAT] (another model with the same tokenizer; FORMAT a weight format such as"
                    + " q4_0, q8_0 or f32, default the file's own). Measured first on the planned model (default: no drafter).") String draft;
    @Option(names = "--draft-max-k", defaultValue = "8", paramLabel = "K",
            description = "Most drafts per round trip the plan may choose, 1.." + DraftProfile.MAX_K + " (the cloud's limit; default: ${DEFAULT-VALUE}).")
    int draftMaxK;
    @Option(names = "--draft-positions", defaultValue = "" + DraftAcceptance.DEFAULT_POSITIONS, paramLabel = "N",
            description = "Positions the drafter's acceptance rate is measured on, 1.." + DraftAcceptance.MAX_POSITIONS + " (default: ${DEFAULT-VALUE}).")
    int draftPositions;

    @Override
    public Integer call() throws IOException {
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        PlanRequest request;
        ModelLoader.ModelPaths paths = null;
        try {
            LinkProfile lp = link != null ? read(link, "link profile", ProfileJson::readLink) : linkFromFlags();
            if (derive != null && !derive.equalsIgnoreCase("llama-3.2-1b")) {
                throw new ParameterException(spec.commandLine(), "--derive knows only llama-3.2-1b");
            }
            DrafterChoice drafterChoice = null;
            if (draft != null) {
                if (derive != null) {
                    throw new ParameterException(spec.commandLine(), "--draft measures the drafter on the planned model, so it cannot be combined with --derive");
                }
                if (draftMaxK < 1 || draftMaxK > DraftProfile.MAX_K) {
                    throw new ParameterException(spec.commandLine(), "--draft-max-k must be in 1.." + DraftProfile.MAX_K + ", got " + draftMaxK);
                }
                if (draftPositions < 1 || draftPositions > DraftAcceptance.MAX_POSITIONS) {
                    throw new ParameterException(spec.commandLine(), "--draft-positions must be in 1.." + DraftAcceptance.MAX_POSITIONS + ", got "
                            + draftPositions);
                }
                drafterChoice = DrafterChoice.parse(draft);
            }
            DeviceProfile edge;
            CalibrationTable cal;
            if (edgeProfile == null || calibration == null) {
                paths = ModelLoader.resolve(shared, System.err);
                PlanCache cache = PlanCache.forModel(paths, shared.threads());
                edge = edgeProfile != null ? read(edgeProfile, "edge profile", ProfileJson::readDevice) : cache.deviceProfile(err);
                cal = calibration != null ? read(calibration, "calibration table", ProfileJson::readCalibration) : cache.calibration(err);
            } else {
                edge = read(edgeProfile, "edge profile", ProfileJson::readDevice);
                cal = read(calibration, "calibration table", ProfileJson::readCalibration);
            }
            DeviceProfile cloud = cloudProfile != null ? read(cloudProfile, "cloud profile", ProfileJson::readDevice) : edge;
            ModelShape shape;
            if (derive != null) {
                shape = DerivedProfiles.llama32_1b();
                edge = DerivedProfiles.scale(edge, shape);
                cloud = DerivedProfiles.scale(cloud, shape);
                cal = DerivedProfiles.scale(cal, shape);
            } else {
                if (paths == null) paths = ModelLoader.resolve(shared, System.err);
                try (ModelSource src = ModelFiles.open(paths.model())) {
                    shape = ModelShape.of(paths.model().getFileName().toString(), src.config());
                }
            }
            Limits limits = Limits.none().withMinSeqLen(seqLen);
            if (memory != null) limits = limits.withEdgeMemory(Units.parseBytes(memory));
            if (tokenLatency != null) limits = limits.withMaxMsPerToken(Units.parseMillis(tokenLatency));
            if (ttft != null) limits = limits.withMaxTtftMs(Units.parseMillis(ttft));
            if (maxKl != null) limits = limits.withMaxKl(maxKl);
            if (minAgreement != null) {
                if (minAgreement > 0) limits = limits.withMinAgreement(minAgreement);
            } else if (maxKl == null) {
                double floor = defaultFloor(cal);
                if (!Double.isNaN(floor)) {
                    limits = limits.withMinAgreement(floor);
                    err.printf(Locale.ROOT, "plan: quality floor: agreement >= %.4f (what the %s wire codec reaches; --min-agreement sets another)%n",
                            floor, FLOOR_CODEC);
                } else {
                    err.println("plan: the calibration table has no " + FLOOR_CODEC + " points, so there is no default quality floor; "
                            + "give --min-agreement");
                }
            }
            DraftProfile drafter = drafterChoice == null ? null : measure(drafterChoice, err);
            request = PlanRequest.builder(shape, edge, cloud, lp, cal).promptTokens(promptTokens)
                    .objective(Objective.parse(objective)).limits(limits).draft(drafter).build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        err.flush();
        long t0 = System.nanoTime();
        PlanResult result = Planner.plan(request);
        double ms = (System.nanoTime() - t0) / 1e6;
        o.println(PlanReport.text(result));
        o.println(PlanReport.frontier(result));
        o.printf(Locale.ROOT, "planned in %.1f ms%n", ms);
        String noSplit = PlanReport.noSplitExplanation(result);
        if (!noSplit.isEmpty()) o.println(noSplit);
        Path svg = report != null ? report : out.resolveSibling(out.getFileName().toString().replaceFirst("\\.json$", "") + ".svg");
        Files.writeString(svg, PlanReport.svg(result), StandardCharsets.UTF_8);
        if (!result.feasible()) {
            o.println("report -> " + svg);
            throw new CliFailure("no configuration meets the limits: " + result.summary());
        }
        PlanFile.write(out, PlanFile.of(result));
        boolean allEdge = result.best().split() >= request.model().nLayers();
        o.println("plan -> " + out + ", report -> " + svg + "; run it with " + (allEdge
                ? "./splitllm generate (every block on this device)" : "./splitllm demo --plan " + out));
        return 0;
    }

    /**
     * A parsed {@code --draft}: "ngram", "model" (the planned model at q4_0) or "model:PATH[@FORMAT]".
     *
     * @param kind   "ngram" or "model"
     * @param model  the draft model's file, or null for the planned model (or for ngram)
     * @param format the draft model's weight format, or null to keep the file's
     */
    record DrafterChoice(String kind, Path model, WeightFormat format) {
        static DrafterChoice parse(String s) {
            String t = s.strip();
            if (t.equalsIgnoreCase("ngram")) return new DrafterChoice("ngram", null, null);
            if (t.equalsIgnoreCase("model")) return new DrafterChoice("model", null, WeightFormat.Q4_0);
            if (t.regionMatches(true, 0, "model:", 0, 6) && t.length() > 6) {
                String path = t.substring(6);
                WeightFormat format = null;
                int at = path.lastIndexOf('@');
                if (at > 0) {
                    try {
                        format = WeightFormat.parse(path.substring(at + 1));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("--draft " + s + ": " + e.getMessage());
                    }
                    path = path.substring(0, at);
                }
                Path p = Path.of(path);
                if (!Files.exists(p)) throw new IllegalArgumentException("--draft " + s + ": draft model not found: " + p);
                return new DrafterChoice("model", p, format);
            }
            throw new IllegalArgumentException("--draft must be ngram, model or model:PATH[@FORMAT], got '" + s + "'");
        }
    }

    /**
     * Measures the drafter on the planned model: acceptance rate against the model's own fp32
     * greedy continuations, time per draft and resident bytes, with progress on stderr.
     */
    private DraftProfile measure(DrafterChoice choice, PrintWriter err) throws IOException {
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        int layers = m.weights().config().nLayers();
        // The draft model's KV capacity: the planned length, at least what the measurement needs, at most the model's context.
        int capacity = Math.min(m.weights().config().seqLen(), Math.max(seqLen, 128));
        Path draftModel = choice.model() != null ? choice.model() : m.modelFile();
        String label = choice.kind() + (choice.model() != null ? " " + choice.model().getFileName() : "")
                + (choice.format() != null ? " at " + choice.format().id() : "");
        err.println("plan: measuring drafter " + label + " on " + m.modelFile().getFileName() + " (" + draftPositions + " positions)");
        try (ThreadTeam team = new ThreadTeam(shared.threads());
             Drafter d = choice.kind().equals("ngram") ? new NgramDrafter() : ModelDrafter.open(draftModel, choice.format(), capacity, shared.threads())) {
            DraftAcceptance meter = new DraftAcceptance(new Transformer(m.weights(), KernelProvider.best(), team), m.tokenizer());
            int steps = Math.min(10, draftPositions);
            PlanCache.Progress bar = new PlanCache.Progress(err, "plan: drafter", steps);
            int[] shown = {0};
            // Drafters that read the cut row (an exit head) would need one measurement per split; none of --draft's does.
            DraftAcceptance.Result r = meter.measure(d, layers / 2, draftPositions, (stage, done, total) -> {
                while (shown[0] < steps && done * steps >= (long) (shown[0] + 1) * total) {
                    shown[0]++;
                    bar.step(done + " positions");
                }
            });
            if (System.console() != null) err.println(); // end the progress bar's line
            err.println("plan: drafter " + r.describe());
            err.flush();
            return new DraftProfile(r.drafter(), r.alpha(), r.msPerCall(), r.residentBytes(), draftMaxK);
        } catch (IllegalArgumentException | IOException e) {
            throw new CliFailure("cannot use drafter " + label + ": " + e.getMessage(), e);
        }
    }

    /** The lowest agreement the q8_0 wire codec reaches over the real split layers, or NaN without such points. */
    static double defaultFloor(CalibrationTable cal) {
        int L = cal.model().nLayers();
        return cal.points().stream().filter(p -> p.codec().equals(FLOOR_CODEC) && p.split() > 0 && p.split() < L)
                .mapToDouble(CodecPoint::agreement).min().orElse(Double.NaN);
    }

    private interface Reader<T> {
        T read(Path p) throws IOException;
    }

    /** Reads a profile file; a missing or unreadable one is a one-line failure that says how to make it. */
    private static <T> T read(Path file, String what, Reader<T> reader) throws IOException {
        String kind = what.endsWith("profile") && !what.equals("link profile") ? "device profile" : what;
        if (!Files.exists(file)) {
            throw new CliFailure("cannot read " + what + " " + file + ": no such file; " + ProfileJson.howToMake(kind).replace("edge.json",
                    file.toString()).replace("calibration.json", file.toString()).replace("link.json", file.toString()));
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new CliFailure("cannot read " + what + " " + file + ": not a readable file");
        }
        try {
            return reader.read(file);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("cannot use " + what + " " + file + ": " + e.getMessage().replaceFirst("^" + java.util.regex.Pattern.quote(file.toString()) + ": ", ""), e);
        }
    }

    private LinkProfile linkFromFlags() {
        if (uplink == null || rtt == null) {
            throw new ParameterException(spec.commandLine(), "give --link FILE, or --uplink and --rtt (e.g. --uplink 10mbit --rtt 50ms)");
        }
        return LinkProfile.parse(uplink, downlink != null ? downlink : uplink, rtt);
    }
}
