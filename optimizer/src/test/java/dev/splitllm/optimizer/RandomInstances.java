package dev.splitllm.optimizer;

import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.model.PrecisionPlan;
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
import dev.splitllm.optimizer.solve.Objective;
import dev.splitllm.optimizer.solve.PlanRequest;
import dev.splitllm.quantization.weights.WeightFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Seeded random planning instances: small model shapes, random profiles, calibration, link, limits and objective. */
final class RandomInstances {
    private RandomInstances() {}

    static final List<WeightFormat> GRID = List.of(WeightFormat.F32, WeightFormat.F16, WeightFormat.Q8_0, WeightFormat.Q4_0);

    static PlanRequest instance(long seed) {
        Random r = new Random(seed);
        int heads = 2 + r.nextInt(3);
        int dim = 32 * heads * (1 + r.nextInt(2));
        int kvHeads = heads % 2 == 0 && r.nextBoolean() ? heads / 2 : heads;
        int layers = 1 + r.nextInt(8);
        int seq = 64 + r.nextInt(448);
        ModelShape m = new ModelShape("rand" + seed, dim, 32 * (2 + r.nextInt(6)), layers, heads, kvHeads, 100 + r.nextInt(3000), seq,
                r.nextBoolean());
        DeviceProfile edge = profile(r, "edge", m, 1 + r.nextDouble() * 4);
        DeviceProfile cloud = profile(r, "cloud", m, 0.05 + r.nextDouble() * 0.5);
        List<String> codecs = new ArrayList<>();
        int nc = 1 + r.nextInt(4);
        for (int i = 0; i < nc; i++) codecs.add("codec" + i);
        List<CodecPoint> pts = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (String c : codecs) {
                if (r.nextDouble() < 0.15) continue; // not every point is calibrated
                double bits = 1 + r.nextDouble() * 15;
                pts.add(new CodecPoint(l, c, bits * (0.8 + 0.4 * r.nextDouble()), bits, 0.7 + 0.3 * r.nextDouble(), r.nextDouble() * 0.2,
                        r.nextDouble()));
            }
        }
        List<WeightQuality> wq = new ArrayList<>();
        for (WeightFormat f : List.of(WeightFormat.F16, WeightFormat.Q8_0, WeightFormat.Q4_0)) {
            if (r.nextDouble() < 0.85) wq.add(new WeightQuality(f.id(), 0.8 + 0.2 * r.nextDouble(), r.nextDouble() * 0.1, r.nextDouble()));
        }
        if (r.nextBoolean()) wq.add(new WeightQuality("f32", 1, 0, 0));
        CalibrationTable cal = new CalibrationTable(CalibrationTable.SCHEMA, m, false, Map.of(), r.nextInt(64), pts, wq);
        LinkProfile link = LinkProfile.of("rand", Math.pow(10, 5 + 4 * r.nextDouble()), Math.pow(10, 5 + 4 * r.nextDouble()),
                r.nextDouble() < 0.1 ? 0 : r.nextDouble() * 200);
        List<Integer> seqLens = new ArrayList<>();
        for (int n = 16 + r.nextInt(48); n <= seq && seqLens.size() < 6; n += 1 + r.nextInt(seq / 2 + 1)) seqLens.add(n);
        if (!seqLens.contains(seq)) seqLens.add(seq);
        int prompt = 1 + r.nextInt(Math.min(64, seqLens.get(seqLens.size() - 1) - 1));
        Objective obj = Objective.values()[r.nextInt(Objective.values().length)];
        // Limits drawn around the instance's own range so that some bind and some do not.
        PrecisionPlan small = new PrecisionPlan(0, WeightFormat.Q4_0, WeightFormat.Q4_0, WeightFormat.Q4_0, WeightFormat.Q4_0);
        long minEdge = new MemoryAccount(m.toConfig(), small).edge(Math.min(seqLens.get(0), seq), Math.min(prompt, seqLens.get(0))).totalBytes();
        long maxEdge = new MemoryAccount(m.toConfig(), PrecisionPlan.f32()).whole(seq, Math.min(prompt, seq)).totalBytes();
        Limits lim = Limits.none();
        if (r.nextDouble() < 0.7) lim = lim.withEdgeMemory((long) (minEdge * 0.9 + (maxEdge - minEdge * 0.9) * r.nextDouble()));
        if (r.nextDouble() < 0.2) lim = lim.withCloudMemory((long) (maxEdge * r.nextDouble()) + 1);
        if (r.nextDouble() < 0.5) lim = lim.withMaxMsPerToken(1 + r.nextDouble() * 300);
        if (r.nextDouble() < 0.4) lim = lim.withMaxTtftMs(10 + r.nextDouble() * 2000);
        if (r.nextDouble() < 0.5) lim = lim.withMinAgreement(0.6 + 0.4 * r.nextDouble());
        if (r.nextDouble() < 0.3) lim = lim.withMaxKl(r.nextDouble() * 0.3);
        if (r.nextDouble() < 0.3) lim = lim.withMinSeqLen(r.nextInt(seq + 64));
        List<WeightFormat> ef = new ArrayList<>(GRID), cf = new ArrayList<>(GRID);
        if (r.nextDouble() < 0.2) ef.remove(r.nextInt(ef.size()));
        if (r.nextDouble() < 0.2) cf.remove(r.nextInt(cf.size()));
        return PlanRequest.builder(m, edge, cloud, link, cal).edgeFormats(ef).cloudFormats(cf).seqLens(seqLens).promptTokens(prompt)
                .objective(obj).limits(lim).downlinkBitsPerToken(r.nextBoolean() ? 32 : 16).build();
    }

    static DeviceProfile profile(Random r, String name, ModelShape m, double speed) {
        List<FormatProfile> fs = new ArrayList<>();
        for (WeightFormat f : GRID) {
            if (f == WeightFormat.F16 && r.nextDouble() < 0.2) continue; // sometimes not measured
            fs.add(new FormatProfile(f.id(), curve(r, new double[] {16, 64, 128}, speed * 2), curve(r, new double[] {32, 128, 255}, speed),
                    r.nextDouble() * speed, r.nextDouble() * 0.01, 0));
        }
        List<CodecTiming> ct = new ArrayList<>();
        if (r.nextBoolean()) ct.add(new CodecTiming("*", curve(r, new double[] {1, 64}, 0.5), curve(r, new double[] {1, 64}, 0.5), "given"));
        if (r.nextBoolean()) ct.add(new CodecTiming("codec0", curve(r, new double[] {1, 64}, 0.2), curve(r, new double[] {1, 64}, 0.2), "probe"));
        return new DeviceProfile(DeviceProfile.SCHEMA, name, false, Map.of(), m, fs, ct);
    }

    /** Increasing random costs at the given sizes. */
    static Curve curve(Random r, double[] x, double scale) {
        double[] y = new double[x.length];
        double v = r.nextDouble() * scale;
        for (int i = 0; i < x.length; i++) {
            v += r.nextDouble() * scale;
            y[i] = v;
        }
        return new Curve(x, y);
    }
}
