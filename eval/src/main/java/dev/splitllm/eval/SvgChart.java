package dev.splitllm.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A small hand-written SVG scatter/line chart: several named series of (x, y) points on
 * linear or log10 axes, with ticks, grid, axis titles and a legend. No dependencies; the output
 * is a self-contained SVG document.
 */
public final class SvgChart {
    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
        "#7f7f7f", "#bcbd22", "#17becf"};

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final boolean logY;
    private final boolean logX;
    private final List<Series> series = new ArrayList<>();

    /** One named set of points, drawn as markers joined by a line when {@code line}. */
    public record Series(String name, double[] x, double[] y, boolean line) {}

    public SvgChart(String title, String xLabel, String yLabel, boolean logX, boolean logY) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.logX = logX;
        this.logY = logY;
    }

    /** Adds a series; points with a non-finite (or, on a log axis, non-positive) coordinate are skipped. */
    public SvgChart add(String name, double[] x, double[] y, boolean line) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("x and y differ in length");
        }
        series.add(new Series(name, x.clone(), y.clone(), line));
        return this;
    }

    /** The chart as an SVG document of {@code width x height} pixels. */
    public String render(int width, int height) {
        double x0 = Double.POSITIVE_INFINITY, x1 = Double.NEGATIVE_INFINITY, y0 = Double.POSITIVE_INFINITY, y1 = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x.length; i++) {
                if (!usable(s.x[i], logX) || !usable(s.y[i], logY)) {
                    continue;
                }
                double tx = tx(s.x[i]), ty = ty(s.y[i]);
                x0 = Math.min(x0, tx);
                x1 = Math.max(x1, tx);
                y0 = Math.min(y0, ty);
                y1 = Math.max(y1, ty);
            }
        }
        if (!(x0 <= x1)) {
            x0 = 0;
            x1 = 1;
            y0 = 0;
            y1 = 1;
        }
        if (logY) {
            y0 = Math.floor(y0);
            y1 = Math.ceil(y1);
        }
        if (x1 - x0 < 1e-9) {
            x1 = x0 + 1;
        }
        if (y1 - y0 < 1e-9) {
            y1 = y0 + 1;
        }
        double padX = logX ? 0 : (x1 - x0) * 0.05, padY = logY ? 0 : (y1 - y0) * 0.05;
        x0 -= padX;
        x1 += padX;
        y0 -= padY;
        y1 += padY;
        int left = 80, right = 200, top = 40, bottom = 55;
        double pw = width - left - right, ph = height - top - bottom;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n", width, height, width, height));
        sb.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>%n", left, esc(title)));
        // Ticks and grid.
        for (double[] t : ticks(x0, x1, logX)) {
            double px = left + (t[0] - x0) / (x1 - x0) * pw;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>%n", px, top, px, top + ph));
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>%n", px, top + ph + 16, label(t[1])));
        }
        for (double[] t : ticks(y0, y1, logY)) {
            double py = top + ph - (t[0] - y0) / (y1 - y0) * ph;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>%n", left, py, left + pw, py));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", left - 6, py + 4, label(t[1])));
        }
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>%n", left, top, pw, ph));
        sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", left + pw / 2, height - 12, esc(xLabel)));
        sb.append(String.format(Locale.ROOT, "<text transform=\"translate(18,%.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>%n", top + ph / 2, esc(yLabel)));
        for (int si = 0; si < series.size(); si++) {
            Series s = series.get(si);
            String color = COLORS[si % COLORS.length];
            StringBuilder path = new StringBuilder();
            for (int i = 0; i < s.x.length; i++) {
                if (!usable(s.x[i], logX) || !usable(s.y[i], logY)) {
                    continue;
                }
                double px = left + (tx(s.x[i]) - x0) / (x1 - x0) * pw;
                double py = top + ph - (ty(s.y[i]) - y0) / (y1 - y0) * ph;
                path.append(path.length() == 0 ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", px, py));
                sb.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>%s: %s, %s</title></circle>%n",
                        px, py, color, esc(s.name), label(s.x[i]), label(s.y[i])));
            }
            if (s.line && path.length() > 0) {
                sb.append(String.format(Locale.ROOT, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"/>%n", path, color));
            }
            double ly = top + 10 + si * 18;
            sb.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>%n", left + pw + 16, ly, color));
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\">%s</text>%n", left + pw + 26, ly + 4, esc(s.name)));
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    private double tx(double v) {
        return logX ? Math.log10(v) : v;
    }

    private double ty(double v) {
        return logY ? Math.log10(v) : v;
    }

    private static boolean usable(double v, boolean log) {
        return Double.isFinite(v) && (!log || v > 0);
    }

    /** Tick positions (in axis units) and their labels (in data units). */
    private static List<double[]> ticks(double lo, double hi, boolean log) {
        List<double[]> out = new ArrayList<>();
        if (log) {
            for (double e = Math.ceil(lo); e <= hi + 1e-9; e++) {
                out.add(new double[] {e, Math.pow(10, e)});
            }
            return out;
        }
        double span = hi - lo;
        double step = Math.pow(10, Math.floor(Math.log10(span / 5)));
        if (span / step > 10) {
            step *= 2;
        }
        if (span / step > 10) {
            step *= 2.5;
        }
        for (double v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) {
            out.add(new double[] {v, v});
        }
        return out;
    }

    private static String label(double v) {
        if (v == 0) {
            return "0";
        }
        double a = Math.abs(v);
        if (a >= 1e4 || a < 1e-2) {
            return String.format(Locale.ROOT, "%.0e", v);
        }
        return String.format(Locale.ROOT, a >= 100 ? "%.0f" : "%.3g", v);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
