package dev.splitllm.optimizer;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.model.ModelSlice;
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
import dev.splitllm.optimizer.solve.Binding;
import dev.splitllm.optimizer.solve.Candidate;
import dev.splitllm.optimizer.solve.Constraint;
import dev.splitllm.optimizer.solve.Limits;
import dev.splitllm.optimizer.solve.Objective;
import dev.splitllm.optimizer.solve.PlanRequest;
import dev.splitllm.optimizer.solve.PlanResult;
import dev.splitllm.optimizer.solve.Planner;
import dev.splitllm.quantization.weights.WeightFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The planner against an independent brute-force reference (its own latency, quality,
 * feasibility and ordering code; memory from the engine's MemoryAccount) on 200 seeded random
 * instances, plus the corner cases: all-edge and all-cloud wins, binding constraints.
 */
class PlannerTest {

    /** One configuration as the reference sees it. */
    record Ref(int split, WeightFormat q1, WeightFormat q2, String codec, int seq, long edge, long cloud, double ttft, double tok,
               double agr, double kl, boolean feasible) {
        double[] key(Objective o) {
            double a = Double.isNaN(agr) ? -1 : agr, k = Double.isNaN(kl) ? Double.POSITIVE_INFINITY : kl;
            switch (o) {
                case MIN_LATENCY: return new double[] {tok, ttft, -a, k, edge, -seq};
                case MAX_SEQ_LEN: return new double[] {-seq, tok, ttft, -a, k, edge};
                case MAX_QUALITY: return new double[] {-a, k, tok, ttft, edge, -seq};
                default: throw new AssertionError();
            }
        }
    }

    static int compare(double[] a, double[] b) {
        for (int i = 0; i < a.length; i++) {
            int c = Double.compare(a[i], b[i]);
            if (c != 0) return c;
        }
        return 0;
    }

    static boolean nearlyEqual(double[] a, double[] b) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b[i]) continue;
            if (Math.abs(a[i] - b[i]) > 1e-9 * Math.max(1, Math.max(Math.abs(a[i]), Math.abs(b[i])))) return false;
        }
        return true;
    }

    static double codecMs(DeviceProfile p, String codec, boolean encode, int tokens) {
        CodecTiming star = null;
        for (CodecTiming t : p.codec()) {
            if (t.codec().equals(codec)) return (encode ? t.encodeMs() : t.decodeMs()).at(tokens);
            if (t.codec().equals("*")) star = t;
        }
        return star == null ? 0 : (encode ? star.encodeMs() : star.decodeMs()).at(tokens);
    }

    static double[] weightLoss(CalibrationTable t, WeightFormat f) {
        for (WeightQuality w : t.weights()) {
            if (WeightFormat.parse(w.format()) == f) return new double[] {1 - w.agreement(), w.meanKl()};
        }
        return f == WeightFormat.F32 ? new double[] {0, 0} : null;
    }

    /** Every configuration of the request's grid, evaluated from first principles. */
    static List<Ref> reference(PlanRequest q) {
        ModelShape m = q.model();
        LlamaConfig cfg = m.toConfig();
        int L = m.nLayers(), P = q.promptTokens(), d = m.dim();
        Limits lim = q.limits();
        List<Ref> out = new ArrayList<>();
        for (int l = 0; l <= L; l++) {
            for (WeightFormat q1 : q.edgeFormats()) {
                FormatProfile e = q.edge().format(q1);
                if (e == null) continue;
                List<WeightFormat> q2s = l == L ? List.of(q1) : q.cloudFormats();
                for (WeightFormat q2 : q2s) {
                    FormatProfile c = l == L ? null : q.cloud().format(q2);
                    if (l < L && c == null) continue;
                    List<String> codecs = l == L ? List.of("none") : q.codecs();
                    for (String codec : codecs) {
                        CodecPoint pt = l == L ? null : q.calibration().point(l, codec);
                        if (l < L && pt == null) continue;
                        for (int w : q.seqLens()) {
                            if (w <= P) continue;
                            PrecisionPlan plan = new PrecisionPlan(l, q1, l == L ? q1 : q2, q1, l == L ? q1 : q2);
                            MemoryAccount acct = new MemoryAccount(cfg, plan);
                            long edge = acct.report(l == L ? ModelSlice.all(L) : ModelSlice.edge(l), w, P).totalBytes();
                            long cloud = l == L ? 0 : acct.report(ModelSlice.cloud(l, L), w, P).totalBytes();
                            double ttft, tok;
                            if (l == L) {
                                ttft = P * e.embedMsPerToken() + L * e.prefillLayerMs().at(P) + e.headMs();
                                tok = e.embedMsPerToken() + L * e.decodeLayerMs().at(w - 1) + e.headMs();
                            } else {
                                double over = 8.0 * q.calibration().frameOverheadBytes();
                                double down = q.downlinkBitsPerToken() * 1000.0 / q.link().downlinkBps();
                                double upP = (pt.prefillBitsPerElement() * P * d + over) * 1000.0 / q.link().uplinkBps();
                                double upD = (pt.decodeBitsPerElement() * d + over) * 1000.0 / q.link().uplinkBps();
                                ttft = P * e.embedMsPerToken() + l * e.prefillLayerMs().at(P) + codecMs(q.edge(), codec, true, P)
                                        + codecMs(q.cloud(), codec, false, P) + upP + down + q.link().rttMs()
                                        + (L - l) * c.prefillLayerMs().at(P) + c.headMs();
                                tok = e.embedMsPerToken() + l * e.decodeLayerMs().at(w - 1) + codecMs(q.edge(), codec, true, 1)
                                        + codecMs(q.cloud(), codec, false, 1) + upD + down + q.link().rttMs()
                                        + (L - l) * c.decodeLayerMs().at(w - 1) + c.headMs();
                            }
                            double fe = (double) l / L, fc = 1 - fe;
                            double[] le = fe > 0 ? weightLoss(q.calibration(), q1) : new double[] {0, 0};
                            double[] lc = fc > 0 ? weightLoss(q.calibration(), q2) : new double[] {0, 0};
                            double agr, kl;
                            if (le == null || lc == null) {
                                agr = Double.NaN;
                                kl = Double.NaN;
                            } else {
                                agr = (pt == null ? 1 : pt.agreement()) - fe * le[0] - fc * lc[0];
                                agr = Math.max(0, Math.min(1, agr));
                                kl = (pt == null ? 0 : pt.meanKl()) + fe * le[1] + fc * lc[1];
                            }
                            boolean ok = edge <= lim.edgeMemoryBytes() && cloud <= lim.cloudMemoryBytes() && tok <= lim.maxMsPerToken()
                                    && ttft <= lim.maxTtftMs() && (lim.minAgreement() == 0 || agr >= lim.minAgreement())
                                    && (lim.maxKl() == Double.POSITIVE_INFINITY || kl <= lim.maxKl()) && w >= lim.minSeqLen();
                            out.add(new Ref(l, q1, l == L ? q1 : q2, codec, w, edge, cloud, ttft, tok, agr, kl, ok));
                        }
                    }
                }
            }
        }
        return out;
    }

    static Ref bestOf(List<Ref> all, Objective o) {
        Ref best = null;
        for (Ref r : all) {
            if (r.feasible() && (best == null || compare(r.key(o), best.key(o)) < 0)) best = r;
        }
        return best;
    }

    static Ref asRef(Candidate c) {
        return new Ref(c.split(), c.edgeFormat(), c.cloudFormat(), c.codec(), c.seqLen(), c.edgeBytes(), c.cloudBytes(), c.ttftMs(),
                c.msPerToken(), c.agreement(), c.meanKl(), c.feasible());
    }

    @Test
    void solverEqualsBruteForceOn200RandomInstances() {
        int feasible = 0, infeasible = 0, allEdge = 0, allCloud = 0;
        for (long seed = 1; seed <= 200; seed++) {
            PlanRequest q = RandomInstances.instance(seed);
            List<Ref> ref = reference(q);
            Ref want = bestOf(ref, q.objective());
            PlanResult got = Planner.plan(q);
            String ctx = "seed " + seed + " (" + q.objective() + ", L=" + q.model().nLayers() + ")";
            assertEquals(ref.size(), Planner.enumerate(q).size(), ctx + ": grid size");
            if (want == null) {
                infeasible++;
                assertNull(got.best(), ctx + ": reference found nothing feasible but the planner chose " + got.best());
                assertFalse(got.bindings().isEmpty(), ctx + ": an infeasible result must name the binding constraint");
                for (Binding b : got.bindings()) {
                    if (b.alone()) {
                        for (Ref r : ref) {
                            assertFalse(meets(r, b.constraint(), q.limits()), ctx + ": " + b.message() + " but " + r + " meets it");
                        }
                    }
                }
                assertTrue(got.frontier().isEmpty());
                continue;
            }
            feasible++;
            if (want.split() == q.model().nLayers()) allEdge++;
            if (want.split() == 0) allCloud++;
            assertNotNull(got.best(), ctx + ": reference chose " + want + " but the planner found nothing: " + got.summary());
            Ref g = asRef(got.best());
            assertTrue(g.feasible(), ctx);
            if (!(g.split() == want.split() && g.q1() == want.q1() && g.q2() == want.q2() && g.codec().equals(want.codec())
                    && g.seq() == want.seq())) {
                assertTrue(nearlyEqual(g.key(q.objective()), want.key(q.objective())), ctx + ": planner chose " + g + " but the reference chose " + want);
            }
            assertTrue(nearlyEqual(new double[] {g.ttft(), g.tok(), g.edge(), g.cloud()}, new double[] {want.ttft(), want.tok(), want.edge(),
                    want.cloud()}) || !sameConfig(g, want), ctx + ": metrics differ " + g + " vs " + want);
            // Pareto frontier: feasible, mutually non-dominated, and covering every feasible point.
            List<Candidate> front = got.frontier();
            assertFalse(front.isEmpty());
            for (Candidate f : front) {
                assertTrue(f.feasible());
                for (Ref r : ref) {
                    if (r.feasible()) assertFalse(dominates(r, asRef(f)), ctx + ": frontier point " + f.describe() + " is dominated by " + r);
                }
            }
            for (Ref r : ref) {
                if (!r.feasible()) continue;
                boolean covered = front.stream().anyMatch(f -> asRef(f).tok() <= r.tok() + 1e-9 * Math.max(1, r.tok())
                        && f.edgeBytes() <= r.edge() && agr(asRef(f)) >= agr(r) - 1e-12);
                assertTrue(covered, ctx + ": feasible " + r + " is not covered by the frontier");
            }
            assertEquals(q.model().nLayers() + 1, got.splits().size());
        }
        assertTrue(feasible >= 40 && infeasible >= 10, "instances should mix feasible (" + feasible + ") and infeasible (" + infeasible + ")");
        assertTrue(allEdge > 0 && allCloud > 0, "the random instances should exercise all-edge (" + allEdge + ") and all-cloud (" + allCloud + ") answers");
    }

    static boolean sameConfig(Ref a, Ref b) {
        return a.split() == b.split() && a.q1() == b.q1() && a.q2() == b.q2() && a.codec().equals(b.codec()) && a.seq() == b.seq();
    }

    static double agr(Ref r) {
        return Double.isNaN(r.agr()) ? -1 : r.agr();
    }

    static boolean dominates(Ref a, Ref b) {
        boolean noWorse = a.tok() <= b.tok() && a.edge() <= b.edge() && agr(a) >= agr(b);
        boolean better = a.tok() < b.tok() - 1e-9 * Math.max(1, b.tok()) || a.edge() < b.edge() || agr(a) > agr(b) + 1e-12;
        return noWorse && better;
    }

    static boolean meets(Ref r, Constraint c, Limits l) {
        switch (c) {
            case EDGE_MEMORY: return r.edge() <= l.edgeMemoryBytes();
            case CLOUD_MEMORY: return r.cloud() <= l.cloudMemoryBytes();
            case MS_PER_TOKEN: return r.tok() <= l.maxMsPerToken();
            case TTFT: return r.ttft() <= l.maxTtftMs();
            case AGREEMENT: return r.agr() >= l.minAgreement();
            case KL: return r.kl() <= l.maxKl();
            case SEQ_LEN: return r.seq() >= l.minSeqLen();
            default: throw new AssertionError();
        }
    }

    // ---- corner cases on a stories15M-shaped model ------------------------------------------

    static final ModelShape STORIES = new ModelShape("stories15M", 288, 768, 6, 6, 6, 32000, 256, true);

    static DeviceProfile device(String name, double perLayerMs) {
        List<FormatProfile> fs = new ArrayList<>();
        for (WeightFormat f : List.of(WeightFormat.F32, WeightFormat.F16, WeightFormat.Q8_0, WeightFormat.Q4_0)) {
            double s = perLayerMs * (0.5 + f.bitsPerWeight() / 64);
            fs.add(new FormatProfile(f.id(), new Curve(new double[] {16, 128}, new double[] {4 * s, 30 * s}),
                    new Curve(new double[] {32, 255}, new double[] {s, 1.3 * s}), 3 * s, 0.001, 0));
        }
        return new DeviceProfile(DeviceProfile.SCHEMA, name, false, Map.of(), STORIES, fs, List.of());
    }

    static CalibrationTable calibration() {
        List<CodecPoint> pts = new ArrayList<>();
        for (int l = 0; l < 6; l++) {
            pts.add(new CodecPoint(l, "q8", 8.5, 8.5, 0.995, 0.002, 0.01));
            pts.add(new CodecPoint(l, "tabq", 4.2, 4.6, 0.97, 0.02, 0.1));
        }
        return new CalibrationTable(CalibrationTable.SCHEMA, STORIES, false, Map.of(), 40, pts,
                List.of(new WeightQuality("f16", 1, 0, 0), new WeightQuality("q8_0", 0.99, 0.003, 0.02), new WeightQuality("q4_0", 0.93, 0.05, 0.4)));
    }

    static PlanRequest.Builder request(LinkProfile link) {
        return PlanRequest.builder(STORIES, device("edge", 2.0), device("cloud", 0.1), link, calibration());
    }

    @Test
    void hugeRttMakesAllEdgeWinWhenMemoryAllows() {
        PlanResult r = Planner.plan(request(LinkProfile.of("satellite", 1e6, 1e6, 2000)).build());
        assertEquals(6, r.best().split(), r.summary());
        assertEquals("none", r.best().codec());
        assertEquals(0, r.best().cloudBytes());
        assertEquals(r.best().edgeFormat(), r.best().cloudFormat());
    }

    @Test
    void hugeRttButTinyEdgeMemoryFallsBackToAllCloud() {
        long smallest = new MemoryAccount(STORIES.toConfig(), new PrecisionPlan(0, WeightFormat.Q4_0, WeightFormat.Q4_0, WeightFormat.Q4_0,
                WeightFormat.Q4_0)).edge(64, 32).totalBytes();
        PlanResult r = Planner.plan(request(LinkProfile.of("satellite", 1e6, 1e6, 2000)).limits(Limits.none().withEdgeMemory(smallest + 1000)).build());
        assertEquals(0, r.best().split(), r.summary());
        assertEquals(WeightFormat.Q4_0, r.best().edgeFormat());
        assertTrue(r.pruned() > 0, "the memory bound should prune deeper splits");
        assertTrue(r.splits().get(6).reason().contains("edge memory"), r.splits().get(6).toString());
    }

    @Test
    void fastLinkAndSlowEdgeMakeAllCloudWin() {
        PlanResult r = Planner.plan(request(LinkProfile.of("lan", 1e9, 1e9, 0.2)).build());
        assertEquals(0, r.best().split(), r.summary());
    }

    @Test
    void edgeMemoryBindsWithTheShortfall() {
        long budget = 2_000_000;
        PlanResult r = Planner.plan(request(LinkProfile.of("wifi", 1e7, 1e7, 20)).limits(Limits.none().withEdgeMemory(budget)).build());
        assertFalse(r.feasible());
        Binding b = r.bindings().get(0);
        assertEquals(Constraint.EDGE_MEMORY, b.constraint());
        assertTrue(b.alone());
        long smallest = new MemoryAccount(STORIES.toConfig(), new PrecisionPlan(0, WeightFormat.Q4_0, WeightFormat.Q4_0, WeightFormat.Q4_0,
                WeightFormat.Q4_0)).edge(64, 32).totalBytes();
        assertEquals(smallest, b.best(), 0.5);
        assertEquals(smallest - budget, b.shortBy(), 0.5);
        String want = String.format(java.util.Locale.ROOT, "edge memory: smallest configuration needs %.1f MB, budget 2.0 MB (short by %.1f MB)",
                smallest / 1e6, (smallest - budget) / 1e6);
        assertEquals(want, b.message());
        assertTrue(r.summary().contains("edge memory"), r.summary());
    }

    @Test
    void latencyAndQualityBindWhenMemoryIsFine() {
        PlanResult r = Planner.plan(request(LinkProfile.of("wifi", 1e7, 1e7, 20)).limits(Limits.none().withMaxMsPerToken(1.0)).build());
        assertFalse(r.feasible());
        assertEquals(List.of(Constraint.MS_PER_TOKEN), r.bindings().stream().map(Binding::constraint).toList());
        assertTrue(r.bindings().get(0).message().contains("limit 1.00 ms"), r.bindings().get(0).message());
        // Agreement 0.999 is only reached all-edge at f32/f16 (no codec, lossless weights).
        PlanResult ok = Planner.plan(request(LinkProfile.of("wifi", 1e7, 1e7, 20)).limits(Limits.none().withMinAgreement(0.999)).build());
        assertEquals(6, ok.best().split(), ok.summary());
        assertTrue(ok.best().edgeFormat() == WeightFormat.F32 || ok.best().edgeFormat() == WeightFormat.F16);
        // With an edge budget that cannot hold the whole model, agreement and memory bind together.
        long allEdgeF16 = new dev.splitllm.optimizer.cost.MemoryModel(STORIES.toConfig()).edgeBytes(6, WeightFormat.F16, WeightFormat.F16, 64, 32);
        PlanResult q = Planner.plan(request(LinkProfile.of("wifi", 1e7, 1e7, 20))
                .limits(Limits.none().withMinAgreement(0.999).withEdgeMemory(allEdgeF16 - 1)).build());
        assertFalse(q.feasible());
        List<Constraint> binding = q.bindings().stream().map(Binding::constraint).toList();
        assertEquals(List.of(Constraint.EDGE_MEMORY, Constraint.AGREEMENT), binding, q.summary());
        assertTrue(q.bindings().stream().noneMatch(Binding::alone));
        assertEquals(1, q.bindings().get(0).shortBy(), 1e-9, q.bindings().get(0).message());
        assertTrue(q.bindings().get(1).message().contains("floor 0.9990"), q.bindings().get(1).message());
    }

    @Test
    void jointlyBindingConstraintsAreNamed() {
        // Memory alone allows all-cloud; latency alone allows a deep split; together nothing fits.
        LinkProfile slow = LinkProfile.of("slow", 2e5, 2e5, 400);
        PlanResult ms = Planner.plan(request(slow).build());
        long smallest = new MemoryAccount(STORIES.toConfig(), new PrecisionPlan(0, WeightFormat.Q4_0, WeightFormat.Q4_0, WeightFormat.Q4_0,
                WeightFormat.Q4_0)).edge(64, 32).totalBytes();
        PlanResult r = Planner.plan(request(slow).limits(Limits.none().withEdgeMemory(smallest + 10_000).withMaxMsPerToken(ms.best().msPerToken() * 1.01)).build());
        assertFalse(r.feasible(), r.summary());
        assertFalse(r.bindings().isEmpty());
        assertTrue(r.bindings().stream().anyMatch(b -> !b.alone()), r.summary());
    }

    @Test
    void maxSeqLenObjectivePicksTheLongestFeasibleLength() {
        PlanResult r = Planner.plan(request(LinkProfile.of("wifi", 1e7, 1e7, 20)).objective(Objective.MAX_SEQ_LEN).build());
        assertEquals(256, r.best().seqLen());
        // A 2 s RTT and a 1 s/token limit force all-edge, where the KV cache makes memory grow with the length.
        long at128 = new dev.splitllm.optimizer.cost.MemoryModel(STORIES.toConfig()).edgeBytes(6, WeightFormat.Q4_0, WeightFormat.Q4_0, 128, 32);
        PlanResult b = Planner.plan(request(LinkProfile.of("satellite", 1e7, 1e7, 2000)).objective(Objective.MAX_SEQ_LEN)
                .limits(Limits.none().withEdgeMemory(at128).withMaxMsPerToken(1000)).build());
        assertEquals(6, b.best().split(), b.summary());
        assertEquals(128, b.best().seqLen(), b.summary());
        assertEquals(WeightFormat.Q4_0, b.best().edgeFormat());
    }

    @Test
    void badRequestsAreRejectedWithClearMessages() {
        ModelShape other = new ModelShape("other", 256, 768, 6, 8, 8, 32000, 256, true);
        PlanRequest wrongModel = PlanRequest.builder(other, device("edge", 1), device("cloud", 1), LinkProfile.of("l", 1e6, 1e6, 1), calibration()).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Planner.plan(wrongModel));
        assertTrue(e.getMessage().contains("edge profile edge is for stories15M"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Planner.plan(request(LinkProfile.of("l", 1e6, 1e6, 1)).seqLens(List.of(512)).build()));
        assertTrue(e.getMessage().contains("sequence length 512"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Planner.plan(request(LinkProfile.of("l", 1e6, 1e6, 1)).codecs(List.of("zstd")).build()));
        assertTrue(e.getMessage().contains("codec zstd"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Planner.plan(request(LinkProfile.of("l", 1e6, 1e6, 1)).promptTokens(256).build()));
        assertTrue(e.getMessage().contains("prompt length"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Planner.plan(request(LinkProfile.of("l", 1e6, 1e6, 1))
                .edgeFormats(List.of(WeightFormat.BF16)).build()));
        assertTrue(e.getMessage().contains("no edge weight format"), e.getMessage());
    }
}
