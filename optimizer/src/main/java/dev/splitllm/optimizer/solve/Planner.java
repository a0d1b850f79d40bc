package dev.splitllm.optimizer.solve;

import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.optimizer.cost.DraftProfile;
import dev.splitllm.optimizer.cost.DraftedDecode;
import dev.splitllm.optimizer.cost.LatencyModel;
import dev.splitllm.optimizer.cost.MemoryModel;
import dev.splitllm.optimizer.cost.PayloadModel;
import dev.splitllm.optimizer.cost.Quality;
import dev.splitllm.optimizer.cost.QualityModel;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.quantization.weights.WeightFormat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Exhaustive search (paper §5.2) over split l in [0, L] (0 = all cloud, L = all edge), Q_w1,
 * Q_w2, codec setting (every one calibrated at that split) and maximum sequence length, under
 * the request's {@link Limits}, optimising its {@link Objective}.
 *
 * <p>Pruning: edge memory is monotone in l for a fixed (Q_w1, sequence length) and does not
 * depend on Q_w2 or the codec, so once a split exceeds the edge budget every deeper split is
 * skipped without evaluating latency or quality. When nothing is feasible the grid is searched
 * again without pruning to say which constraint binds and by how much.
 *
 * <p>Metrics: TTFT for the request's prompt; ms/token is the decode step at the last position
 * of the planned sequence (context seqLen - 1), i.e. the worst step of a full-length generation.
 *
 * <p>Drafter: when the request has one ({@link PlanRequest#draft}), every configuration that
 * crosses the link is also considered drafting at its best k ({@link DraftedDecode}: the k in
 * [0, maxK] with the least expected ms/token); when that k is at least 1 the drafting
 * configuration is a candidate of its own, with the drafter's bytes on the edge, the same TTFT and
 * quality (greedy verification gives exactly the plain tokens) and its expected ms/token. It wins
 * only when it is better under the objective and meets the limits. Without a drafter the search
 * is exactly the plain one.
 */
public final class Planner {
    private final PlanRequest req;
    private final LlamaConfig config;
    private final int layers;
    private final MemoryModel memory;
    private final LatencyModel latency;
    private final PayloadModel payload;
    private final QualityModel quality;
    private final List<WeightFormat> edgeFormats = new ArrayList<>();
    private final List<WeightFormat> cloudFormats = new ArrayList<>();
    private final List<String> codecs;
    private final int[] seqLens;
    private final List<String> notes = new ArrayList<>();
    private final Comparator<Candidate> order;
    /** Edge bytes by [split][Q_w1 index][seq index] (independent of Q_w2 and codec). */
    private long[][][] edgeMem;
    /** Cloud bytes by [split][Q_w2 index][seq index] (independent of Q_w1 and codec). */
    private long[][][] cloudMem;
    /** Calibration point by [split][codec index], null where not calibrated. */
    private CodecPoint[][] points;

    /** Added to a drafting candidate's rank: on a tie, the plain configuration comes first. */
    private static final long DRAFT_RANK = 1L << 50;

    private Planner(PlanRequest req) {
        req.validate();
        this.req = req;
        this.config = req.model().toConfig();
        this.layers = config.nLayers();
        this.memory = new MemoryModel(config);
        this.latency = new LatencyModel(req.edge(), req.cloud(), req.link(), layers, req.downlinkBitsPerToken());
        this.payload = new PayloadModel(config.dim(), req.calibration().frameOverheadBytes());
        this.quality = new QualityModel(req.calibration(), layers);
        this.order = Order.of(req.objective());
        for (WeightFormat f : req.edgeFormats()) {
            if (req.edge().format(f) == null) notes.add("Q_w1 " + f.id() + " skipped: not measured in edge profile " + req.edge().name());
            else if (!fits(f)) notes.add("Q_w1 " + f.id() + " skipped: the model's rows are not a multiple of its block size");
            else edgeFormats.add(f);
        }
        for (WeightFormat f : req.cloudFormats()) {
            if (req.cloud().format(f) == null) notes.add("Q_w2 " + f.id() + " skipped: not measured in cloud profile " + req.cloud().name());
            else if (!fits(f)) notes.add("Q_w2 " + f.id() + " skipped: the model's rows are not a multiple of its block size");
            else cloudFormats.add(f);
        }
        if (edgeFormats.isEmpty()) {
            throw new IllegalArgumentException("no edge weight format of " + ids(req.edgeFormats()) + " is measured in edge profile "
                    + req.edge().name() + " (it has " + req.edge().formats().stream().map(p -> p.format()).toList() + ")");
        }
        this.codecs = req.codecs();
        for (String c : codecs) {
            if (req.calibration().points().stream().noneMatch(p -> p.codec().equals(c))) {
                throw new IllegalArgumentException("codec " + c + " has no point in the calibration table (it has " + req.calibration().codecs() + ")");
            }
        }
        List<Integer> s = new ArrayList<>();
        for (int n : req.seqLens().stream().sorted().toList()) {
            if (n <= req.promptTokens()) notes.add("sequence length " + n + " skipped: not longer than the " + req.promptTokens() + "-token prompt");
            else s.add(n);
        }
        this.seqLens = s.stream().mapToInt(Integer::intValue).toArray();
        tabulate();
    }

    /** Memory of every (split, format, sequence length) and the calibration lookup, computed once. */
    private void tabulate() {
        int P = req.promptTokens();
        edgeMem = new long[layers + 1][edgeFormats.size()][seqLens.length];
        cloudMem = new long[layers + 1][cloudFormats.size()][seqLens.length];
        points = new CodecPoint[layers][codecs.size()];
        for (int l = 0; l <= layers; l++) {
            for (int si = 0; si < seqLens.length; si++) {
                for (int qi = 0; qi < edgeFormats.size(); qi++) {
                    WeightFormat f = edgeFormats.get(qi);
                    edgeMem[l][qi][si] = memory.edgeBytes(l, f, f, seqLens[si], P);
                }
                for (int qj = 0; qj < cloudFormats.size(); qj++) {
                    WeightFormat f = cloudFormats.get(qj);
                    cloudMem[l][qj][si] = memory.cloudBytes(l, f, f, seqLens[si], P);
                }
            }
            if (l < layers) {
                for (int ci = 0; ci < codecs.size(); ci++) points[l][ci] = req.calibration().point(l, codecs.get(ci));
            }
        }
    }

    private boolean fits(WeightFormat f) {
        return config.dim() % f.blockSize == 0 && config.hiddenDim() % f.blockSize == 0;
    }

    private static String ids(List<WeightFormat> fs) {
        return fs.stream().map(WeightFormat::id).toList().toString();
    }

    /** Plans {@code request}: the best feasible configuration, the Pareto frontier, one row per split, or the binding constraints. */
    public static PlanResult plan(PlanRequest request) {
        return new Planner(request).run();
    }

    /** Every configuration of the grid, evaluated without pruning (for tests and reports). */
    public static List<Candidate> enumerate(PlanRequest request) {
        Planner p = new Planner(request);
        Search s = p.new Search(false);
        s.run();
        return s.all;
    }

    private PlanResult run() {
        Search s = new Search(true);
        s.run();
        List<Binding> bindings = List.of();
        if (s.best == null) {
            Search full = new Search(false);
            full.run();
            bindings = full.bindings();
            s = full;
        }
        List<SplitRow> rows = new ArrayList<>();
        for (int l = 0; l <= layers; l++) {
            rows.add(s.row(l));
        }
        return new PlanResult(req, s.best, pareto(s.feasible), rows, bindings, List.copyOf(notes), s.evaluated, s.pruned);
    }

    /** One pass over the grid. */
    private final class Search {
        final boolean prune;
        final boolean keepAll;
        final List<Candidate> all = new ArrayList<>();
        final List<Candidate> feasible = new ArrayList<>();
        final Candidate[] bestAt = new Candidate[layers + 1];
        final Candidate[] closestAt = new Candidate[layers + 1];
        final Candidate[] smallestPrunedAt = new Candidate[layers + 1];
        final Candidate[] bestAlone = new Candidate[Constraint.values().length];
        final Candidate[] bestOthers = new Candidate[Constraint.values().length];
        Candidate closest;
        Candidate best;
        /** TTFT by [split][Q_w1][Q_w2 + 1][codec + 1]: it does not depend on the sequence length. */
        final double[][][][] ttftCache = new double[layers + 1][edgeFormats.size()][cloudFormats.size() + 1][codecs.size() + 1];
        long evaluated;
        long pruned;

        Search(boolean prune) {
            this.prune = prune;
            this.keepAll = !prune;
            for (double[][][] a : ttftCache) for (double[][] b : a) for (double[] c : b) java.util.Arrays.fill(c, Double.NaN);
        }

        void run() {
            int P = req.promptTokens();
            int nq1 = edgeFormats.size(), nq2 = cloudFormats.size(), nc = codecs.size(), ns = seqLens.length;
            long budget = req.limits().edgeMemoryBytes();
            for (int qi = 0; qi < nq1; qi++) {
                WeightFormat q1 = edgeFormats.get(qi);
                for (int si = 0; si < ns; si++) {
                    int w = seqLens[si];
                    for (int l = 0; l <= layers; l++) {
                        long edgeBytes = edgeMem[l][qi][si];
                        if (prune && edgeBytes > budget) {
                            // Monotone in l: this split and every deeper one are over the edge budget.
                            for (int k = l; k <= layers; k++) {
                                pruned += count(k, nq2, nc);
                                Candidate rep = evaluate(k, qi, 0, -1, si, edgeMem[k][qi][si], true);
                                if (rep != null && (smallestPrunedAt[k] == null || rep.edgeBytes() < smallestPrunedAt[k].edgeBytes())) {
                                    smallestPrunedAt[k] = rep;
                                }
                            }
                            break;
                        }
                        if (l == layers) {
                            consider(evaluate(l, qi, -1, -1, si, edgeBytes, false));
                            continue;
                        }
                        for (int qj = 0; qj < nq2; qj++) {
                            for (int ci = 0; ci < nc; ci++) {
                                Candidate plain = evaluate(l, qi, qj, ci, si, edgeBytes, false);
                                consider(plain);
                                consider(drafted(plain, ci));
                            }
                        }
                    }
                }
            }
        }

        private long count(int l, int nq2, int nc) {
            if (l == layers) return 1;
            long n = 0;
            for (CodecPoint p : points[l]) if (p != null) n++;
            return n * nq2;
        }

        /**
         * Evaluates one configuration; qj = -1 at l = L means "no cloud"; ci = -1 below L means
         * "the first calibrated codec" (a representative for pruned splits). Null when the split
         * has no calibration point for the codec.
         */
        Candidate evaluate(int l, int qi, int qj, int ci, int si, long edgeBytes, boolean representative) {
            WeightFormat q1 = edgeFormats.get(qi);
            int w = seqLens[si], P = req.promptTokens();
            boolean allEdge = l == layers;
            if (!allEdge && cloudFormats.isEmpty()) return null;
            WeightFormat q2 = allEdge ? q1 : cloudFormats.get(Math.max(qj, 0));
            CodecPoint pt = null;
            String codec = CodecPoint.NONE;
            if (!allEdge) {
                if (ci >= 0) {
                    pt = points[l][ci];
                } else {
                    for (CodecPoint p : points[l]) {
                        pt = p;
                        if (pt != null) break;
                    }
                }
                if (pt == null) return null;
                codec = pt.codec();
            }
            long cloudBytes = allEdge ? 0 : cloudMem[l][Math.max(qj, 0)][si];
            double ttft = ttftCache[l][qi][qj + 1][ci + 1];
            if (Double.isNaN(ttft)) {
                ttft = latency.prefill(l, q1, q2, codec, payload.prefillBits(pt, P), P).totalMs();
                ttftCache[l][qi][qj + 1][ci + 1] = ttft;
            }
            double tok = latency.decode(l, q1, q2, codec, payload.decodeBits(pt), w - 1).totalMs();
            Quality q = quality.estimate(l, q1, q2, pt);
            int v = Candidate.violations(req.limits(), edgeBytes, cloudBytes, ttft, tok, q.agreement(), q.meanKl(), w);
            long rank = ((((long) l * edgeFormats.size() + qi) * (cloudFormats.size() + 1) + (qj + 1)) * (codecs.size() + 1) + (ci + 1))
                    * seqLens.length + si;
            if (!representative) evaluated++; // representatives of pruned splits are counted as pruned
            return new Candidate(l, q1, q2, codec, w, edgeBytes, cloudBytes, ttft, tok, pt == null ? 0 : pt.prefillBitsPerElement(),
                    pt == null ? 0 : pt.decodeBitsPerElement(), q.agreement(), q.meanKl(), q.deltaPpl(), v, rank, null, 0, 1.0);
        }

        /**
         * The plain configuration {@code plain} (codec index {@code ci}) drafting at its best k, or
         * null without a drafter, for an all-edge plan, or when the best k is 0 (drafting does not pay).
         */
        Candidate drafted(Candidate plain, int ci) {
            DraftProfile d = req.draft();
            if (plain == null || d == null || plain.split() == layers) return null;
            int l = plain.split(), w = plain.seqLen();
            DraftedDecode best = DraftedDecode.best(latency, payload, d, l, plain.edgeFormat(), plain.cloudFormat(), points[l][ci], w - 1);
            if (best.k() == 0) return null;
            long edgeBytes = memory.edgeBytesWithDrafter(plain.edgeBytes(), d);
            int v = Candidate.violations(req.limits(), edgeBytes, plain.cloudBytes(), plain.ttftMs(), best.msPerToken(), plain.agreement(),
                    plain.meanKl(), w);
            evaluated++;
            return new Candidate(l, plain.edgeFormat(), plain.cloudFormat(), plain.codec(), w, edgeBytes, plain.cloudBytes(), plain.ttftMs(),
                    best.msPerToken(), plain.prefillBitsPerElement(), plain.decodeBitsPerElement(), plain.agreement(), plain.meanKl(),
                    plain.deltaPpl(), v, plain.order() + DRAFT_RANK, d.name(), best.k(), best.tokensPerRoundTrip());
        }

        void consider(Candidate c) {
            if (c == null) return;
            if (keepAll) all.add(c);
            int l = c.split();
            if (c.feasible()) {
                feasible.add(c);
                if (best == null || order.compare(c, best) < 0) best = c;
                if (bestAt[l] == null || order.compare(c, bestAt[l]) < 0) bestAt[l] = c;
            } else if (closestAt[l] == null || closer(c, closestAt[l])) {
                closestAt[l] = c;
            }
            if (prune) return; // the binding diagnosis below only runs on the unpruned pass
            if (closest == null || closer(c, closest)) closest = c;
            for (Constraint k : Constraint.values()) {
                if (bestAlone[k.ordinal()] == null || better(k, c, bestAlone[k.ordinal()])) bestAlone[k.ordinal()] = c;
                if ((c.violations() & ~k.bit()) == 0
                        && (bestOthers[k.ordinal()] == null || better(k, c, bestOthers[k.ordinal()]))) {
                    bestOthers[k.ordinal()] = c;
                }
            }
        }

        /** Fewer violated constraints first, then the objective's order. */
        private boolean closer(Candidate a, Candidate b) {
            int d = Integer.bitCount(a.violations()) - Integer.bitCount(b.violations());
            if (d != 0) return d < 0;
            int m = Long.compare(a.edgeBytes(), b.edgeBytes());
            if (a.violates(Constraint.EDGE_MEMORY) && m != 0) return m < 0;
            return order.compare(a, b) < 0;
        }

        private boolean better(Constraint k, Candidate a, Candidate b) {
            double x = a.value(k), y = b.value(k);
            if (Double.isNaN(y)) return !Double.isNaN(x);
            if (Double.isNaN(x)) return false;
            return k.atMost ? x < y : x > y;
        }

        SplitRow row(int l) {
            if (bestAt[l] != null) return new SplitRow(l, bestAt[l], true, "");
            Candidate c = closestAt[l];
            if (c == null) c = smallestPrunedAt[l];
            if (c == null) {
                return new SplitRow(l, null, false, l == layers ? "no edge format" : "no calibration point for any codec at this split");
            }
            return new SplitRow(l, c, false, reasons(c));
        }

        List<Binding> bindings() {
            List<Binding> out = new ArrayList<>();
            Limits lim = req.limits();
            for (Constraint k : Constraint.values()) {
                Candidate alone = bestAlone[k.ordinal()];
                if (alone != null && alone.violates(k)) {
                    out.add(binding(k, alone.value(k), lim.limit(k), true));
                }
            }
            if (!out.isEmpty()) return out;
            for (Constraint k : Constraint.values()) {
                Candidate others = bestOthers[k.ordinal()];
                if (others != null && others.violates(k)) {
                    out.add(binding(k, others.value(k), lim.limit(k), false));
                }
            }
            if (!out.isEmpty() || closest == null) return out;
            for (Constraint k : closest.violated()) {
                Binding b = binding(k, closest.value(k), lim.limit(k), false);
                out.add(new Binding(k, b.best(), b.limit(), b.shortBy(), false, b.message() + " (no configuration meets "
                        + closest.violated().stream().map(x -> x.label).toList() + " together; closest: " + closest.describe() + ")"));
            }
            return out;
        }
    }

    static Binding binding(Constraint k, double best, double limit, boolean alone) {
        double gap = Math.abs(best - limit);
        String who = alone ? (k.atMost ? "smallest configuration needs " : "best configuration reaches ")
                : (k.atMost ? "best configuration meeting every other constraint needs " : "best configuration meeting every other constraint reaches ");
        String msg;
        switch (k) {
            case EDGE_MEMORY:
            case CLOUD_MEMORY:
                msg = String.format(Locale.ROOT, "%s: %s%.1f MB, budget %.1f MB (short by %.1f MB)", k.label, who.replace("smallest configuration", "smallest configuration"),
                        best / 1e6, limit / 1e6, gap / 1e6);
                break;
            case MS_PER_TOKEN:
            case TTFT:
                msg = String.format(Locale.ROOT, "%s: %s%.2f ms, limit %.2f ms (over by %.2f ms)", k.label,
                        alone ? "fastest configuration needs " : "fastest configuration meeting every other constraint needs ", best, limit, gap);
                break;
            case AGREEMENT:
                msg = Double.isNaN(best)
                        ? String.format(Locale.ROOT, "%s: not calibrated for the candidate configurations, floor %.3f", k.label, limit)
                        : String.format(Locale.ROOT, "%s: %s%.4f, floor %.4f (short by %.4f)", k.label, who, best, limit, gap);
                break;
            case KL:
                msg = Double.isNaN(best)
                        ? String.format(Locale.ROOT, "%s: not calibrated for the candidate configurations, ceiling %.4f", k.label, limit)
                        : String.format(Locale.ROOT, "%s: %s%.4f nats, ceiling %.4f (over by %.4f)", k.label,
                        alone ? "lowest configuration needs " : "lowest configuration meeting every other constraint needs ", best, limit, gap);
                break;
            case SEQ_LEN:
                msg = String.format(Locale.ROOT, "%s: %s%d tokens, required %d (short by %d)", k.label,
                        alone ? "longest candidate is " : "longest candidate meeting every other constraint is ", (long) best, (long) limit, (long) gap);
                break;
            default:
                throw new AssertionError(k);
        }
        return new Binding(k, best, limit, Double.isNaN(gap) ? Double.POSITIVE_INFINITY : gap, alone, msg);
    }

    /** "edge memory 61.2 MB > 48.0 MB; ms/token 31.20 > 25.00". */
    String reasons(Candidate c) {
        List<String> r = new ArrayList<>();
        Limits lim = req.limits();
        for (Constraint k : c.violated()) {
            double v = c.value(k), x = lim.limit(k);
            switch (k) {
                case EDGE_MEMORY: case CLOUD_MEMORY:
                    r.add(String.format(Locale.ROOT, "%s %.1f MB > %.1f MB", k.label, v / 1e6, x / 1e6)); break;
                case MS_PER_TOKEN: case TTFT:
                    r.add(String.format(Locale.ROOT, "%s %.2f > %.2f ms", k.label, v, x)); break;
                case AGREEMENT:
                    r.add(Double.isNaN(v) ? "agreement not calibrated" : String.format(Locale.ROOT, "agreement %.3f < %.3f", v, x)); break;
                case KL:
                    r.add(Double.isNaN(v) ? "KL not calibrated" : String.format(Locale.ROOT, "KL %.4f > %.4f", v, x)); break;
                case SEQ_LEN:
                    r.add(String.format(Locale.ROOT, "seq %d < %d", (long) v, (long) x)); break;
                default: throw new AssertionError(k);
            }
        }
        return String.join("; ", r);
    }

    /** Feasible candidates not dominated in (ms/token min, edge bytes min, agreement max), sorted by ms/token. */
    static List<Candidate> pareto(List<Candidate> feasible) {
        List<Candidate> sorted = new ArrayList<>(feasible);
        sorted.sort(Comparator.comparingDouble(Candidate::msPerToken).thenComparingLong(Candidate::edgeBytes)
                .thenComparing(Comparator.comparingDouble(Order::agreementKey).reversed()).thenComparingLong(Candidate::order));
        List<Candidate> front = new ArrayList<>();
        for (Candidate c : sorted) {
            boolean dominated = false;
            for (Candidate f : front) {
                if (f.msPerToken() <= c.msPerToken() && f.edgeBytes() <= c.edgeBytes() && Order.agreementKey(f) >= Order.agreementKey(c)) {
                    dominated = true;
                    break;
                }
            }
            if (!dominated) front.add(c);
        }
        return front;
    }
}
