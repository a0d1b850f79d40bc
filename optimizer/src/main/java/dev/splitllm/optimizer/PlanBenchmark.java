package dev.splitllm.optimizer;

import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.CodecTiming;
import dev.splitllm.optimizer.profile.Curve;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.FormatProfile;
import dev.splitllm.optimizer.profile.LinkProfile;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.optimizer.profile.WeightQuality;
import dev.splitllm.optimizer.solve.Limits;
import dev.splitllm.optimizer.solve.PlanRequest;
import dev.splitllm.optimizer.solve.PlanResult;
import dev.splitllm.optimizer.solve.Planner;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code ./splitllm bench plan}: plans a 32-layer model (Llama-2-7B shape) over the full grid
 * (32 cut splits x 4 Q_w1 x 4 Q_w2 x 6 codec settings x 7 sequence lengths, plus all-edge x 4 Q_w1 x 7 lengths) N times and prints the
 * median wall time. The inputs are synthetic (labelled derived): the benchmark measures the
 * solver, not a device.
 */
public final class PlanBenchmark {
    private PlanBenchmark() {}

    /**
     * Median milliseconds of {@code runs} plans (after 5 warm-up plans), printed to {@code out}:
     * first with the 4 GB edge budget (memory pruning active), then with no memory budget (every
     * grid point evaluated). Returns the larger of the two medians.
     */
    public static double run(int runs, PrintStream out) {
        PlanRequest req = request32();
        double pruned = run(req, "4 GB edge budget", runs, out);
        PlanRequest all = new PlanRequest(req.model(), req.edge(), req.cloud(), req.link(), req.calibration(), req.edgeFormats(),
                req.cloudFormats(), req.codecs(), req.seqLens(), req.promptTokens(), req.downlinkBitsPerToken(), req.objective(),
                req.limits().withEdgeMemory(Long.MAX_VALUE), req.draft());
        double full = run(all, "no memory budget", runs, out);
        return Math.max(pruned, full);
    }

    private static double run(PlanRequest req, String label, int runs, PrintStream out) {
        if (runs < 1 || runs > 10_000) throw new IllegalArgumentException("runs must be in [1, 10000], got " + runs);
        PlanResult last = null;
        for (int i = 0; i < 5; i++) last = Planner.plan(req);
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            last = Planner.plan(req);
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        double median = runs % 2 == 1 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
        long grid = (long) 32 * 4 * 4 * 6 * 7 + 4 * 7; // all-edge has no cloud format or codec
        out.printf(Locale.ROOT, "plan (%s): 32-layer %s, grid %d configurations (%d evaluated, %d pruned), %d runs: median %.2f ms, min %.2f ms, max %.2f ms%n",
                label, req.model().name(), grid, last.evaluated(), last.pruned(), runs, median, ms[0], ms[runs - 1]);
        out.println("plan (" + label + "): " + last.summary());
        return median;
    }

    /** {@link #run(int, PrintStream)} with 21 runs to standard output. */
    public static double run() {
        return run(21, System.out);
    }

    /** The benchmark's request: Llama-2-7B shape, synthetic profiles, 20 Mbit/s / 40 ms link, 4 GB edge budget, agreement >= 0.95. */
    public static PlanRequest request32() {
        ModelShape m = new ModelShape("llama-2-7b-shape", 4096, 11008, 32, 32, 32, 32000, 4096, false);
        DeviceProfile edge = synthetic("synthetic-edge", m, 1.0), cloud = synthetic("synthetic-cloud", m, 0.08);
        List<CodecPoint> pts = new ArrayList<>();
        String[] codecs = {"q8", "tabq:eps=1e-4", "tabq:eps=1e-3", "tabq:eps=1e-2", "uniform:4", "uniform:2"};
        double[] bits = {8.5, 6.2, 4.8, 3.3, 4.5, 2.5};
        double[] agree = {0.999, 0.995, 0.985, 0.95, 0.97, 0.85};
        for (int l = 0; l < 32; l++) {
            for (int c = 0; c < codecs.length; c++) {
                double depth = 1 + 0.3 * l / 32.0;
                pts.add(new CodecPoint(l, codecs[c], bits[c] * 0.9, bits[c] * depth, Math.max(0, 1 - (1 - agree[c]) * depth),
                        (1 - agree[c]) * 0.5 * depth, (1 - agree[c]) * 2 * depth));
            }
        }
        CalibrationTable cal = new CalibrationTable(CalibrationTable.SCHEMA, m, true, Map.of("synthetic", "benchmark"), 48, pts,
                List.of(new WeightQuality("f16", 0.999, 0.0005, 0.01), new WeightQuality("q8_0", 0.995, 0.002, 0.05),
                        new WeightQuality("q4_0", 0.96, 0.03, 0.6)));
        return PlanRequest.builder(m, edge, cloud, LinkProfile.of("20mbit-40ms", 20e6, 50e6, 40), cal)
                .seqLens(List.of(64, 128, 256, 512, 1024, 2048, 4096))
                .limits(Limits.none().withEdgeMemory(4_000_000_000L).withMinAgreement(0.95))
                .build();
    }

    /** Per-block costs proportional to each format's bytes, scaled by {@code speed} (smaller = faster). */
    static DeviceProfile synthetic(String name, ModelShape m, double speed) {
        List<FormatProfile> fs = new ArrayList<>();
        for (WeightFormat f : List.of(WeightFormat.F32, WeightFormat.F16, WeightFormat.Q8_0, WeightFormat.Q4_0)) {
            double perByte = f.bitsPerWeight() / 32.0;
            fs.add(new FormatProfile(f.id(), new Curve(new double[] {16, 64, 128}, new double[] {40 * speed, 150 * speed, 300 * speed}),
                    new Curve(new double[] {32, 1024, 4095}, new double[] {25 * perByte * speed + 0.01, 25 * perByte * speed + 0.3,
                            25 * perByte * speed + 1.2}), 60 * perByte * speed, 0.001, 0));
        }
        Curve enc = new Curve(new double[] {1, 128}, new double[] {0.05, 2});
        return new DeviceProfile(DeviceProfile.SCHEMA, name, true, Map.of("synthetic", "benchmark"), m, fs,
                List.of(new CodecTiming("*", enc, enc, "given")));
    }
}
