package dev.splitllm.optimizer.report;

import dev.splitllm.optimizer.cost.DraftProfile;
import dev.splitllm.optimizer.profile.Units;
import dev.splitllm.optimizer.solve.Binding;
import dev.splitllm.optimizer.solve.Candidate;
import dev.splitllm.optimizer.solve.Constraint;
import dev.splitllm.optimizer.solve.Limits;
import dev.splitllm.optimizer.solve.PlanRequest;
import dev.splitllm.optimizer.solve.PlanResult;
import dev.splitllm.optimizer.solve.SplitRow;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Human-readable output of a {@link PlanResult}: a text table with one row per split layer (the
 * chosen row marked, infeasible rows with their reasons) and a hand-written SVG chart of
 * per-token latency and edge memory against the split layer, with the limits drawn as dashed
 * lines and the chosen split marked. Derived (not measured) inputs are flagged in both. With a
 * drafter in the request the table gains a draft column (k per round trip, "-" for plain
 * decoding) and the text a {@link #draftLine} under the chosen plan.
 */
public final class PlanReport {
    private PlanReport() {}

    /** True when any input of the request was derived rather than measured. */
    public static boolean derived(PlanRequest r) {
        return r.edge().derived() || r.cloud().derived() || r.calibration().derived();
    }

    /** The text report. */
    public static String text(PlanResult result) {
        PlanRequest r = result.request();
        StringBuilder sb = new StringBuilder();
        sb.append("splitllm plan for ").append(r.model().name()).append(" (").append(r.model().describe()).append(")\n");
        if (derived(r)) {
            sb.append("DERIVED: profiles/calibration scaled from a smaller model's measurements; estimates, not measured\n");
        }
        sb.append("edge: ").append(r.edge().name()).append(r.edge().derived() ? " (derived)" : " (measured)")
                .append("; cloud: ").append(r.cloud().name()).append(r.cloud().derived() ? " (derived)" : " (measured)").append('\n');
        sb.append("link: ").append(r.link().describe()).append("; calibration: ").append(r.calibration().model().name())
                .append(r.calibration().derived() ? " (derived)" : "").append('\n');
        sb.append("objective: ").append(r.objective().id).append("; prompt ").append(r.promptTokens()).append(" tokens; limits: ")
                .append(limits(r.limits())).append('\n');
        boolean drafter = r.draft() != null;
        if (drafter) sb.append("drafter: ").append(r.draft().describe()).append('\n');
        sb.append(String.format(Locale.ROOT, "%n  %5s %9s %9s %9s %9s %8s %9s %-11s %-24s %6s  " + (drafter ? "%-5s " : "%s") + "%s%n",
                "split", "edge MB", "cloud MB", "TTFT ms", "ms/token", "bits/elt", "agreement", "Q_w1/Q_w2", "codec", "seq",
                drafter ? "draft" : "", "status"));
        Candidate best = result.best();
        for (SplitRow row : result.splits()) {
            Candidate c = row.candidate();
            boolean chosen = best != null && c == best;
            String mark = chosen ? "*" : " ";
            if (c == null) {
                sb.append(String.format(Locale.ROOT, "%s %5d %s%n", mark, row.split(), "  - " + row.reason()));
                continue;
            }
            String status = chosen ? "chosen" : row.feasible() ? "ok" : row.reason();
            sb.append(String.format(Locale.ROOT, "%s %5d %9.2f %9.2f %9.2f %9.3f %8s %9s %-11s %-24s %6d  " + (drafter ? "%-5s " : "%s")
                            + "%s%n", mark, row.split(),
                    c.edgeBytes() / 1e6, c.cloudBytes() / 1e6, c.ttftMs(), c.msPerToken(),
                    c.split() == r.model().nLayers() ? "-" : String.format(Locale.ROOT, "%.2f", c.decodeBitsPerElement()),
                    Double.isNaN(c.agreement()) ? "?" : String.format(Locale.ROOT, "%.4f", c.agreement()),
                    c.edgeFormat().id() + "/" + c.cloudFormat().id(), abbreviate(c.codec(), 24), c.seqLen(),
                    !drafter ? "" : c.drafting() ? "k=" + c.draftK() : "-", status));
        }
        sb.append('\n');
        if (best != null) {
            sb.append("chosen: ").append(result.summary()).append('\n');
            if (drafter) sb.append(draftLine(result)).append('\n');
            sb.append("Pareto frontier (ms/token, edge memory, agreement): ").append(result.frontier().size()).append(" configurations\n");
        } else {
            sb.append("NO FEASIBLE PLAN\n");
            for (Binding b : result.bindings()) sb.append("  binds: ").append(b.message()).append('\n');
        }
        for (String n : result.notes()) sb.append("note: ").append(n).append('\n');
        sb.append(String.format(Locale.ROOT, "evaluated %d configurations, %d pruned by the edge-memory bound%n", result.evaluated(), result.pruned()));
        return sb.toString();
    }

    /**
     * The drafter's part of the chosen plan, e.g. {@code draft: drafter=model k=4 alpha=0.86
     * tokens-per-round-trip=3.71 (+12.4 MB edge)}, or why it is not used; empty without a drafter
     * in the request or a feasible plan.
     */
    public static String draftLine(PlanResult result) {
        DraftProfile d = result.request().draft();
        Candidate best = result.best();
        if (d == null || best == null) return "";
        if (best.drafting()) {
            return String.format(Locale.ROOT, "draft: drafter=%s k=%d alpha=%.2f tokens-per-round-trip=%.2f (+%.1f MB edge)", best.draft(),
                    best.draftK(), d.alpha(), best.tokensPerRoundTrip(), d.residentBytes() / 1e6);
        }
        String why = best.split() == result.request().model().nLayers() ? "an all-edge plan has no round trip to save"
                : "plain decoding (k=0) is at least as good under the " + result.request().objective().id + " objective and the limits";
        return String.format(Locale.ROOT, "draft: drafter=%s not used: %s (alpha=%.2f, %.2f ms/draft, %.1f MB); tokens-per-round-trip=1.00",
                d.name(), why, d.alpha(), d.msPerDraft(), d.residentBytes() / 1e6);
    }

    /** The Pareto frontier as a text table. */
    public static String frontier(PlanResult result) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "  %9s %9s %9s  %s%n", "ms/token", "edge MB", "agreement", "configuration"));
        for (Candidate c : result.frontier()) {
            sb.append(String.format(Locale.ROOT, "  %9.3f %9.2f %9s  %s%n", c.msPerToken(), c.edgeBytes() / 1e6,
                    Double.isNaN(c.agreement()) ? "?" : String.format(Locale.ROOT, "%.4f", c.agreement()),
                    c.describe() + (c.drafting() ? ", draft " + c.draft() + " k=" + c.draftK() : "")));
        }
        return sb.toString();
    }

    static String limits(Limits l) {
        List<String> s = new ArrayList<>();
        if (l.bounded(Constraint.EDGE_MEMORY)) s.add("edge memory <= " + Units.formatMB(l.edgeMemoryBytes()));
        if (l.bounded(Constraint.CLOUD_MEMORY)) s.add("cloud memory <= " + Units.formatMB(l.cloudMemoryBytes()));
        if (l.bounded(Constraint.MS_PER_TOKEN)) s.add(String.format(Locale.ROOT, "ms/token <= %.2f", l.maxMsPerToken()));
        if (l.bounded(Constraint.TTFT)) s.add(String.format(Locale.ROOT, "TTFT <= %.1f ms", l.maxTtftMs()));
        if (l.bounded(Constraint.AGREEMENT)) s.add(String.format(Locale.ROOT, "agreement >= %.3f", l.minAgreement()));
        if (l.bounded(Constraint.KL)) s.add(String.format(Locale.ROOT, "KL <= %.4f", l.maxKl()));
        if (l.bounded(Constraint.SEQ_LEN)) s.add("seq >= " + l.minSeqLen());
        return s.isEmpty() ? "none" : String.join(", ", s);
    }

    private static String abbreviate(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "~";
    }

    /** The SVG chart: ms/token (left axis) and edge MB (right axis) against the split layer. */
    public static String svg(PlanResult result) {
        PlanRequest r = result.request();
        int L = r.model().nLayers();
        double W = 760, H = 440, left = 70, right = 80, top = 60, bottom = 60;
        double pw = W - left - right, ph = H - top - bottom;
        List<SplitRow> rows = result.splits();
        double maxMs = 0, maxMb = 0;
        for (SplitRow row : rows) {
            if (row.candidate() == null) continue;
            maxMs = Math.max(maxMs, row.candidate().msPerToken());
            maxMb = Math.max(maxMb, row.candidate().edgeBytes() / 1e6);
        }
        Limits lim = r.limits();
        if (lim.bounded(Constraint.MS_PER_TOKEN)) maxMs = Math.max(maxMs, lim.maxMsPerToken());
        if (lim.bounded(Constraint.EDGE_MEMORY)) maxMb = Math.max(maxMb, lim.edgeMemoryBytes() / 1e6);
        maxMs = niceCeil(maxMs * 1.05);
        maxMb = niceCeil(maxMb * 1.05);
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">%n", W, H, W, H));
        s.append(String.format(Locale.ROOT, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>%n", W, H));
        s.append(text(left, 20, "start", 14, "bold", "Split plan for " + r.model().name() + " (" + r.objective().id + ")"));
        s.append(text(left, 36, "start", 11, "normal", "link " + r.link().describe() + "; edge " + r.edge().name() + ", cloud " + r.cloud().name()));
        if (derived(r)) {
            s.append(text(left, 51, "start", 11, "bold", "DERIVED estimate: scaled from smaller-model measurements, not measured")
                    .replace("<text ", "<text fill=\"#b00020\" "));
        }
        // Axes and grid.
        s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>%n", left, top, pw, ph));
        for (int i = 0; i <= 5; i++) {
            double y = top + ph - ph * i / 5.0;
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", left, y, left + pw, y));
            s.append(text(left - 6, y + 4, "end", 11, "normal", fmt(maxMs * i / 5.0)).replace("<text ", "<text fill=\"#1f4e9c\" "));
            s.append(text(left + pw + 6, y + 4, "start", 11, "normal", fmt(maxMb * i / 5.0)).replace("<text ", "<text fill=\"#c25400\" "));
        }
        int step = Math.max(1, (int) Math.ceil(L / 16.0));
        for (int l = 0; l <= L; l += step) {
            double x = xOf(l, L, left, pw);
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>%n", x, top + ph, x, top + ph + 4));
            s.append(text(x, top + ph + 18, "middle", 11, "normal", String.valueOf(l)));
        }
        s.append(text(left + pw / 2, H - 18, "middle", 12, "normal", "split layer l (0 = all cloud, " + L + " = all edge)"));
        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#1f4e9c\" transform=\"rotate(-90 %.1f %.1f)\">ms/token</text>%n",
                18.0, top + ph / 2, 18.0, top + ph / 2));
        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#c25400\" transform=\"rotate(90 %.1f %.1f)\">edge memory (MB)</text>%n",
                W - 18, top + ph / 2, W - 18, top + ph / 2));
        // Limit lines.
        if (lim.bounded(Constraint.MS_PER_TOKEN)) {
            double y = top + ph - ph * lim.maxMsPerToken() / maxMs;
            s.append(dashed(left, y, left + pw, y, "#1f4e9c"));
            s.append(text(left + 4, y - 4, "start", 11, "normal", "ms/token limit " + fmt(lim.maxMsPerToken())).replace("<text ", "<text fill=\"#1f4e9c\" "));
        }
        if (lim.bounded(Constraint.EDGE_MEMORY)) {
            double y = top + ph - ph * (lim.edgeMemoryBytes() / 1e6) / maxMb;
            s.append(dashed(left, y, left + pw, y, "#c25400"));
            s.append(text(left + pw - 4, y - 4, "end", 11, "normal", "edge budget " + Units.formatMB(lim.edgeMemoryBytes())).replace("<text ", "<text fill=\"#c25400\" "));
        }
        // Series.
        s.append(series(rows, L, left, top, pw, ph, maxMs, true, "#1f4e9c"));
        s.append(series(rows, L, left, top, pw, ph, maxMb, false, "#c25400"));
        Candidate best = result.best();
        if (best != null) {
            double x = xOf(best.split(), L, left, pw);
            double y = top + ph - ph * best.msPerToken() / maxMs;
            s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"9\" fill=\"none\" stroke=\"#0a7d28\" stroke-width=\"2.5\"/>%n", x, y));
            String anchor = best.split() * 4 > 3 * L ? "end" : best.split() * 4 < L ? "start" : "middle";
            String label = "chosen l=" + best.split() + (best.drafting() ? " (draft " + best.draft() + " k=" + best.draftK() + ")" : "");
            s.append(text(x, top + 14, anchor, 12, "bold", label).replace("<text ", "<text fill=\"#0a7d28\" "));
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#0a7d28\" stroke-dasharray=\"2,3\"/>%n", x, top + 18, x, top + ph));
        } else {
            s.append(text(left + pw / 2, top + ph / 2, "middle", 16, "bold", "no feasible plan").replace("<text ", "<text fill=\"#b00020\" "));
        }
        // Legend.
        double lx = left + 10, ly = top + ph - 40;
        s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"250\" height=\"34\" fill=\"white\" stroke=\"#999\"/>%n", lx - 4, ly - 12));
        s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f4e9c\" stroke-width=\"2\"/>%n", lx, ly - 4, lx + 20, ly - 4));
        s.append(text(lx + 26, ly, "start", 11, "normal", "ms/token (filled = feasible)"));
        s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c25400\" stroke-width=\"2\"/>%n", lx, ly + 12, lx + 20, ly + 12));
        s.append(text(lx + 26, ly + 16, "start", 11, "normal", "edge memory MB (hollow = infeasible)"));
        s.append("</svg>\n");
        return s.toString();
    }

    private static String series(List<SplitRow> rows, int L, double left, double top, double pw, double ph, double max, boolean latency,
                                 String color) {
        StringBuilder pts = new StringBuilder(), dots = new StringBuilder();
        for (SplitRow row : rows) {
            Candidate c = row.candidate();
            if (c == null) continue;
            double v = latency ? c.msPerToken() : c.edgeBytes() / 1e6;
            double x = xOf(row.split(), L, left, pw), y = top + ph - ph * v / max;
            pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
            dots.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\" stroke=\"%s\"/>%n", x, y,
                    row.feasible() ? color : "white", color));
            if (latency && !row.feasible()) {
                // Each infeasible point names the limit(s) it breaks; the full reason is its tooltip.
                boolean nearRight = row.split() * 4 > 3 * L; // there the label runs down-left, inside the chart
                double tx = nearRight ? x - 5 : x + 5, ty = nearRight ? y + 6 : y - 6;
                dots.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" fill=\"#b00020\" text-anchor=\"%s\" "
                                + "transform=\"rotate(-50 %.1f %.1f)\">%s<title>%s</title></text>%n", tx, ty, nearRight ? "end" : "start",
                        tx, ty, escape(brokenLimits(c)), escape(row.reason())));
            }
        }
        return String.format(Locale.ROOT, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>%n", pts.toString().trim(), color)
                + dots;
    }

    /** "breaks edge memory, agreement": the limits an infeasible candidate violates. */
    static String brokenLimits(Candidate c) {
        StringBuilder sb = new StringBuilder("breaks ");
        List<Constraint> v = c.violated();
        for (int i = 0; i < v.size(); i++) sb.append(i == 0 ? "" : ", ").append(v.get(i).label);
        return sb.toString();
    }

    /**
     * When the chosen plan is no split at all (every block on the cloud, or every block on the
     * edge), one sentence saying so and why: what the best real split would cost, or which limit
     * every real split breaks. Empty when the plan splits the model.
     */
    public static String noSplitExplanation(PlanResult result) {
        Candidate best = result.best();
        int L = result.request().model().nLayers();
        if (best == null || (best.split() > 0 && best.split() < L)) return "";
        String what = best.split() == 0
                ? "no split wins: run every block on the cloud (split 0; the edge only embeds the prompt and sends it)"
                : String.format(Locale.ROOT, "no split wins: run every block on the edge (split %d; no link, while every split token waits"
                        + " for a %.1f ms round trip)", L, result.request().link().rttMs());
        Candidate bestSplit = null;
        SplitRow closest = null;
        for (SplitRow row : result.splits()) {
            if (row.split() <= 0 || row.split() >= L || row.candidate() == null) continue;
            if (row.feasible() && (bestSplit == null || row.candidate().msPerToken() < bestSplit.msPerToken())) bestSplit = row.candidate();
            if (!row.feasible() && closest == null) closest = row;
        }
        if (bestSplit != null) {
            return String.format(Locale.ROOT, "%s: %.2f ms/token against %.2f ms/token for the best split (layer %d, %s) under the %s objective",
                    what, best.msPerToken(), bestSplit.msPerToken(), bestSplit.split(), bestSplit.codec(), result.request().objective().id);
        }
        return what + ": no split between 1 and " + (L - 1) + " meets the limits"
                + (closest == null ? "" : " (e.g. split " + closest.split() + ": " + closest.reason() + ")");
    }

    private static double xOf(int l, int L, double left, double pw) {
        return left + pw * l / Math.max(1, L);
    }

    private static String dashed(double x1, double y1, double x2, double y2, String color) {
        return String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"6,4\"/>%n", x1, y1, x2, y2, color);
    }

    private static String text(double x, double y, String anchor, int size, String weight, String t) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" font-weight=\"%s\">%s</text>%n", x, y, anchor,
                size, weight, escape(t));
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static String fmt(double v) {
        if (v >= 100) return String.format(Locale.ROOT, "%.0f", v);
        if (v >= 10) return String.format(Locale.ROOT, "%.1f", v);
        return String.format(Locale.ROOT, "%.2f", v);
    }

    static double niceCeil(double v) {
        if (!(v > 0)) return 1;
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10}) {
            if (m * p >= v) return m * p;
        }
        return 10 * p;
    }
}
