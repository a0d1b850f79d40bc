package dev.splitllm.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Results of an evaluation run: the unsplit fp32 perplexities, one {@link Row} per measured
 * configuration, the bits-per-element study and the calibrated thresholds; renders itself as
 * markdown tables and as an SVG chart of quality against bits per element.
 */
public final class EvalReport {

    /**
     * One configuration's figures. Bits are per element with side information (prefill frames:
     * prompts and text windows; decode frames: one token each). KL is mean KL(fp32 || split) in
     * nats; prefix is the mean free-running greedy prefix match (tokens).
     */
    public record Row(int split, String family, String model, String wire, double prefillBits, double decodeBits,
                      double agreement, double meanKl, double prefix, double ppl, double dPpl, double kjvPpl, double dKjv,
                      double prefillFrameBits, double decodeFrameBits) {
        /** The larger of the prefill and decode bits per element (payload with side information). */
        public double worstBits() {
            return Double.isNaN(prefillBits) ? decodeBits : Math.max(prefillBits, decodeBits);
        }
    }

    /** Bits per element of the codec alone on real hidden states: prefill = one frame per window, decode = one frame per token. */
    public record BitsRow(int split, String codec, double prefillBits, double decodeBits) {}

    private final EvalOptions options;
    private final double fp32Ppl;
    private final double fp32Kjv;
    private final List<Row> rows;
    private final List<BitsRow> bits;
    private final Map<Integer, float[]> taus;
    private final List<String> notes;
    private final double seconds;

    EvalReport(EvalOptions options, double fp32Ppl, double fp32Kjv, List<Row> rows, List<BitsRow> bits,
               Map<Integer, float[]> taus, List<String> notes, double seconds) {
        this.options = options;
        this.fp32Ppl = fp32Ppl;
        this.fp32Kjv = fp32Kjv;
        this.rows = List.copyOf(rows);
        this.bits = List.copyOf(bits);
        this.taus = new LinkedHashMap<>(taus);
        this.notes = List.copyOf(notes);
        this.seconds = seconds;
    }

    public EvalOptions options() {
        return options;
    }

    /** Perplexity of the unsplit fp32 model on the Pride and Prejudice slice (NaN when not measured). */
    public double fp32Ppl() {
        return fp32Ppl;
    }

    public double fp32KjvPpl() {
        return fp32Kjv;
    }

    public List<Row> rows() {
        return rows;
    }

    public List<BitsRow> bitsStudy() {
        return bits;
    }

    /** Calibrated tau per split layer, one per percentile of the options (same order). */
    public Map<Integer, float[]> taus() {
        return new LinkedHashMap<>(taus);
    }

    public double seconds() {
        return seconds;
    }

    /** The rows whose wire name starts with {@code prefix} at {@code split} and model {@code model}. */
    public List<Row> find(int split, String model, String wirePrefix) {
        List<Row> out = new ArrayList<>();
        for (Row r : rows) {
            if (r.split == split && r.model.equals(model) && r.wire.startsWith(wirePrefix)) {
                out.add(r);
            }
        }
        return out;
    }

    /** Markdown: run summary, quality table, bits study, thresholds. */
    public String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Unsplit fp32 model: PPL %s on the first %d tokens of Pride and Prejudice, %s on the first %d tokens of KJV Genesis. "
                        + "Quality on %d prompts x %d greedy tokens (%d scored positions per row). Run time %.0f s.%n%n",
                f(fp32Ppl, 2), options.pplTokens(), f(fp32Kjv, 2), options.kjvTokens(), options.prompts(), options.generated(),
                rows.isEmpty() ? 0 : positions, seconds));
        sb.append("| split | family | weights | wire | prefill b/el | decode b/el | top-1 agree | mean KL (nats) | greedy prefix | PPL (P&P) | ΔPPL | PPL (KJV) | ΔPPL KJV |\n");
        sb.append("|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %d | %s | %s | `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                    r.split, r.family, r.model, r.wire, f(r.prefillBits, 3), f(r.decodeBits, 3), f(r.agreement, 4),
                    kl(r.meanKl), f(r.prefix, 1), f(r.ppl, 2), signed(r.dPpl), f(r.kjvPpl, 2), signed(r.dKjv)));
        }
        sb.append('\n').append(goalTable());
        sb.append('\n').append(frontierTable());
        if (!bits.isEmpty()) {
            sb.append("\n**Bits per element of the codec on real hidden states** (prefill: each text window as one frame; decode: each token as its own frame; side information and zstd header included)\n\n");
            sb.append("| split | codec | prefill b/el | decode b/el |\n|---:|---|---:|---:|\n");
            for (BitsRow b : bits) {
                sb.append(String.format(Locale.ROOT, "| %d | `%s` | %s | %s |%n", b.split, b.codec, f(b.prefillBits, 3), f(b.decodeBits, 3)));
            }
        }
        if (!taus.isEmpty()) {
            sb.append("\n**Calibrated TS thresholds** (percentile of |x| at the cut on the calibration text)\n\n| split |");
            for (double p : options.percentiles()) {
                sb.append(" tau p").append(p).append(" |");
            }
            sb.append("\n|---:|");
            for (int i = 0; i < options.percentiles().size(); i++) {
                sb.append("---:|");
            }
            sb.append('\n');
            for (Map.Entry<Integer, float[]> e : taus.entrySet()) {
                sb.append("| ").append(e.getKey()).append(" |");
                for (float t : e.getValue()) {
                    sb.append(' ').append(f(t, 3)).append(" |");
                }
                sb.append('\n');
            }
        }
        for (String n : notes) {
            sb.append("\n").append(n).append('\n');
        }
        return sb.toString();
    }

    private long positions;

    /**
     * The design goal per split layer (issue 19; judged by KL first, top-1 on near-ties is noise):
     * the TS+TAB-Q configuration (wire a tabq spec, weights f32) with the fewest bits per element,
     * the larger of prefill and decode, whose mean KL is at most Q8_0's. Targets: at most 6.0 at
     * the headline split, no split above 6.5.
     */
    public String goalTable() {
        StringBuilder sb = new StringBuilder("**Goal check: bits per element at Q8_0's KL or better** (payload with side "
                + "information; the columns with frames add the compact frame header the runtime sends, 16 bytes per prefill frame and 17 per decode frame)\n\n"
                + "| split | Q8_0 b/el | Q8_0 KL | Q8_0 agree | cheapest TS+TAB-Q with KL <= Q8_0's | prefill b/el | decode b/el | "
                + "prefill incl. frames | decode incl. frames | its KL | its agree | verdict |\n"
                + "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (int split : options.splits()) {
            Row ref = q8Row(split);
            if (ref == null) {
                continue;
            }
            Row best = goalRow(split);
            String verdict = best == null ? "not met" : best.worstBits() <= 6.0 ? "<= 6.0 met"
                    : best.worstBits() <= 6.5 ? "<= 6.5 met, 6.0 not" : best.worstBits() < ref.decodeBits ? "fewer bits than Q8_0, 6.5 not met" : "not met";
            sb.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", split, f(ref.decodeBits, 3),
                    kl(ref.meanKl), f(ref.agreement, 4), best == null ? "none" : "`" + best.wire + "`",
                    best == null ? "–" : f(best.prefillBits, 3), best == null ? "–" : f(best.decodeBits, 3),
                    best == null ? "–" : f(best.prefillFrameBits, 3), best == null ? "–" : f(best.decodeFrameBits, 3),
                    best == null ? "–" : kl(best.meanKl), best == null ? "–" : f(best.agreement, 4), verdict));
        }
        return sb.toString();
    }

    private Row q8Row(int split) {
        List<Row> q8 = find(split, "f32", "q8_0");
        return q8.isEmpty() ? null : q8.get(0);
    }

    /** The cheapest f32 tabq row at {@code split} whose KL is at most Q8_0's, or null. */
    public Row goalRow(int split) {
        Row ref = q8Row(split);
        if (ref == null) {
            return null;
        }
        Row best = null;
        for (Row r : rows) {
            if (r.split == split && r.model.equals("f32") && r.wire.startsWith("tabq") && r.meanKl <= ref.meanKl
                    && (best == null || r.worstBits() < best.worstBits())) {
                best = r;
            }
        }
        return best;
    }

    /**
     * The last line of {@code eval --headline}: the goal row at the first split (else the tabq row
     * with the lowest KL) against Q8_0:
     * {@code headline: codec=SPEC bits=X kl=Y agreement=Z vs q8_0 bits=8.50 kl=W}; bits are the
     * larger of prefill and decode bits per element.
     */
    public String headline() {
        int split = options.splits()[0];
        Row ref = q8Row(split);
        Row best = goalRow(split);
        if (best == null) {
            for (Row r : rows) {
                if (r.split == split && r.model.equals("f32") && r.wire.startsWith("tabq") && (best == null || r.meanKl < best.meanKl)) {
                    best = r;
                }
            }
        }
        if (best == null || ref == null) {
            return "headline: no tabq and q8_0 rows at split " + split;
        }
        return String.format(Locale.ROOT, "headline: codec=%s bits=%.2f kl=%.2e agreement=%.4f vs q8_0 bits=%.2f kl=%.2e",
                best.wire, best.worstBits(), best.meanKl, best.agreement, ref.worstBits(), ref.meanKl);
    }

    /** The configurations no other beats in both bits (worst of prefill, decode) and KL, cheapest first. */
    public List<Row> frontier(int split) {
        List<Row> candidates = new ArrayList<>();
        for (Row r : rows) {
            if (r.split == split && r.model.equals("f32") && r.meanKl > 0 && !Double.isNaN(r.worstBits())) {
                candidates.add(r);
            }
        }
        candidates.sort((a, b) -> a.worstBits() != b.worstBits() ? Double.compare(a.worstBits(), b.worstBits()) : Double.compare(a.meanKl, b.meanKl));
        List<Row> out = new ArrayList<>();
        double bestKl = Double.POSITIVE_INFINITY;
        for (Row r : candidates) {
            if (r.meanKl < bestKl) {
                out.add(r);
                bestKl = r.meanKl;
            }
        }
        return out;
    }

    /** Markdown table of {@link #frontier} per split. */
    public String frontierTable() {
        StringBuilder sb = new StringBuilder("**Bits–KL frontier** (no other configuration has both fewer bits and lower KL)\n\n"
                + "| split | wire | family | b/el (worst of prefill, decode) | decode incl. frames | mean KL | top-1 agree |\n|---:|---|---|---:|---:|---:|---:|\n");
        for (int split : options.splits()) {
            for (Row r : frontier(split)) {
                if (r.worstBits() > CHART_MAX_BITS) {
                    continue;
                }
                sb.append(String.format(Locale.ROOT, "| %d | `%s` | %s | %s | %s | %s | %s |%n", split, r.wire, r.family,
                        f(r.worstBits(), 3), f(r.decodeFrameBits, 3), kl(r.meanKl), f(r.agreement, 4)));
            }
        }
        return sb.toString();
    }

    void setPositions(long positions) {
        this.positions = positions;
    }

    /** Wires above this many bits per element (fp16, fp32) are left off the charts to keep the low-bit region readable. */
    public static final double CHART_MAX_BITS = 12;

    /**
     * Mean KL against decode bits per element, one series per wire family, for split
     * {@code split}; lossless rows (KL 0) and wires above {@link #CHART_MAX_BITS} are left out.
     */
    public String klChart(int split) {
        SvgChart chart = new SvgChart("Split after block " + split + ": mean KL(fp32 || split) vs bits per element",
                "decode bits per element (side info included)", "mean KL, nats (log scale)", false, true);
        Map<String, List<Row>> fam = new LinkedHashMap<>();
        for (Row r : rows) {
            if (r.split == split && r.meanKl > 0 && r.decodeBits <= CHART_MAX_BITS) {
                fam.computeIfAbsent(r.family, k -> new ArrayList<>()).add(r);
            }
        }
        for (Map.Entry<String, List<Row>> e : fam.entrySet()) {
            List<Row> list = new ArrayList<>(e.getValue());
            list.sort((a, b) -> Double.compare(a.decodeBits, b.decodeBits));
            double[] x = new double[list.size()], y = new double[list.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = list.get(i).decodeBits;
                y[i] = list.get(i).meanKl;
            }
            chart.add(e.getKey(), x, y, x.length > 1);
        }
        List<Row> front = new ArrayList<>(frontier(split));
        front.removeIf(r -> r.worstBits() > CHART_MAX_BITS);
        if (front.size() > 1) {
            double[] x = new double[front.size()], y = new double[front.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = front.get(i).worstBits();
                y[i] = front.get(i).meanKl;
            }
            chart.add("frontier (worst of prefill/decode b/el)", x, y, true);
        }
        return chart.render(820, 460);
    }

    static String f(double v, int digits) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    static String signed(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%+.3f", v);
    }

    static String kl(double v) {
        if (Double.isNaN(v)) {
            return "–";
        }
        return v == 0 ? "0" : String.format(Locale.ROOT, "%.2e", v);
    }
}
