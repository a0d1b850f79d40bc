package dev.splitllm.optimizer;

import dev.splitllm.fetch.ModelStore;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
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
import dev.splitllm.quantization.weights.WeightFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Developer tool (not a test): profile stories15M on this machine, calibrate through the real
 * codec, plan, and write every artefact to
 * {@code args[0]} (default /tmp/splitllm-optimizer-demo); then the derived Llama-3.2-1B plan and
 * the planner benchmark. Figures are provisional: they depend on the machine's load.
 */
public final class StoriesPlanDemo {
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "/tmp/splitllm-optimizer-demo");
        Files.createDirectories(out);
        Path dir = ModelStore.stories15MDir(), ckpt = dir.resolve("stories15M.bin");
        long t0 = System.nanoTime();
        DeviceProfile dev = Profiler.run(ckpt, "dev-2threads", Profiler.FORMATS, 2, 3, List.of("q8_0", "uniform:bits=4"));
        System.out.printf("profiled in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        ProfileJson.write(out.resolve("device.json"), dev);
        String text = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. "
                + "One day, she saw a big red ball under a tree. She ran to get it, but a small dog got there first. The dog wagged its "
                + "tail and dropped the ball at her feet. Lily laughed and threw the ball, and they played together until the sun went down.";
        int[] ids = Llama2Tokenizer.load(dir.resolve("tokenizer.bin"), 32000).encode(text, true);
        t0 = System.nanoTime();
        CalibrationTable cal = Calibrator.run(ckpt, ids, List.of("q8_0", "uniform:bits=6", "uniform:bits=4", "uniform:bits=3"), List.of(),
                List.of(WeightFormat.F16, WeightFormat.Q8_0, WeightFormat.Q4_0), 2, "built-in short story, " + ids.length + " tokens");
        System.out.printf("calibrated in %.1f s (%d tokens)%n", (System.nanoTime() - t0) / 1e9, ids.length);
        ProfileJson.write(out.resolve("calibration.json"), cal);
        LinkProfile link = LinkProfile.parse("10mbit", "50mbit", "40ms");
        ProfileJson.write(out.resolve("link.json"), link);
        ModelShape m = dev.model();
        // The profiler measured f32, q8_0, q4_0: f16 is skipped with a note.
        PlanRequest req = PlanRequest.builder(m, dev.named("edge"), dev.named("cloud"), link, cal)
                .limits(Limits.none().withEdgeMemory(Units.parseBytes("16MB")).withMinAgreement(0.85).withMinSeqLen(256)).build();
        PlanResult r = Planner.plan(req);
        Files.writeString(out.resolve("report.txt"), PlanReport.text(r) + "\n" + PlanReport.frontier(r));
        Files.writeString(out.resolve("report.svg"), PlanReport.svg(r));
        if (r.feasible()) PlanFile.write(out.resolve("plan.json"), PlanFile.of(r));
        System.out.println(PlanReport.text(r));
        // Derived Llama-3.2-1B-shaped plan.
        ModelShape big = DerivedProfiles.llama32_1b();
        DeviceProfile edgeBig = DerivedProfiles.scale(dev.named("edge"), big), cloudBig = DerivedProfiles.scale(dev.named("cloud"), big);
        CalibrationTable calBig = DerivedProfiles.scale(cal, big);
        ProfileJson.write(out.resolve("llama1b-device.derived.json"), edgeBig);
        ProfileJson.write(out.resolve("llama1b-calibration.derived.json"), calBig);
        PlanRequest bigReq = PlanRequest.builder(big, edgeBig, cloudBig, link, calBig).objective(Objective.MAX_SEQ_LEN)
                .limits(Limits.none().withEdgeMemory(Units.parseBytes("2GB")).withMaxMsPerToken(1500).withMinAgreement(0.85)).build();
        PlanResult rb = Planner.plan(bigReq);
        Files.writeString(out.resolve("llama1b-report.txt"), PlanReport.text(rb));
        Files.writeString(out.resolve("llama1b-report.svg"), PlanReport.svg(rb));
        if (rb.feasible()) PlanFile.write(out.resolve("llama1b-plan.json"), PlanFile.of(rb));
        System.out.println(PlanReport.text(rb));
        PlanBenchmark.run();
    }
}
