package dev.splitllm.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Renders the latency CSV of {@code scripts/link-emulation.sh} (columns mode, codec, rate_mbit,
 * rtt_ms, run, wall_ms, ttft_ms, per_token_ms) as an SVG chart of per-token latency against
 * link rate, one line per mode and codec, for one round-trip time. Rows with "NA" are skipped;
 * repeated runs are averaged. Edge-only (rate 0) is drawn as a flat line across the rates.
 */
public final class LatencyChart {
    private LatencyChart() {}

    /** The chart for round-trip time {@code rttMs} from the CSV lines (header first). */
    public static String render(List<String> csv, int rttMs, boolean ttft) {
        if (csv.isEmpty() || !csv.get(0).startsWith("mode,codec,rate_mbit,rtt_ms")) {
            throw new IllegalArgumentException("not a link-emulation latency.csv (header missing)");
        }
        Map<String, TreeMap<Double, double[]>> series = new TreeMap<>();
        double edge = Double.NaN;
        double[] edgeSum = {0, 0};
        for (String line : csv.subList(1, csv.size())) {
            String[] f = line.split(",", -1);
            if (f.length != 8) {
                throw new IllegalArgumentException("bad CSV line: " + line);
            }
            String value = ttft ? f[6] : f[7];
            if (value.equals("NA") || value.isEmpty()) {
                continue;
            }
            double v = Double.parseDouble(value);
            if (f[0].equals("edge-only")) {
                edgeSum[0] += v;
                edgeSum[1]++;
                continue;
            }
            if (Integer.parseInt(f[3]) != rttMs) {
                continue;
            }
            String name = f[0].equals("split") ? "split " + f[1] : f[0];
            double[] acc = series.computeIfAbsent(name, k -> new TreeMap<>()).computeIfAbsent(Double.parseDouble(f[2]), k -> new double[2]);
            acc[0] += v;
            acc[1]++;
        }
        if (edgeSum[1] > 0) {
            edge = edgeSum[0] / edgeSum[1];
        }
        String what = ttft ? "time to first token" : "per-token latency";
        SvgChart chart = new SvgChart(String.format(Locale.ROOT, "%s vs link rate, RTT %d ms", what, rttMs),
                "link rate, Mbit/s (log scale)", what + ", ms", true, false);
        List<Double> rates = new ArrayList<>();
        for (Map.Entry<String, TreeMap<Double, double[]>> e : series.entrySet()) {
            double[] x = new double[e.getValue().size()], y = new double[x.length];
            int i = 0;
            for (Map.Entry<Double, double[]> p : e.getValue().entrySet()) {
                x[i] = p.getKey();
                y[i++] = p.getValue()[0] / p.getValue()[1];
                if (!rates.contains(p.getKey())) {
                    rates.add(p.getKey());
                }
            }
            chart.add(e.getKey(), x, y, true);
        }
        if (!Double.isNaN(edge) && !rates.isEmpty()) {
            rates.sort(Double::compare);
            double[] x = {rates.get(0), rates.get(rates.size() - 1)};
            chart.add("edge-only", x, new double[] {edge, edge}, true);
        }
        return chart.render(820, 460);
    }

    /** {@code LatencyChart latency.csv OUT_DIR}: writes per-token and TTFT charts for every RTT in the file. */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            throw new IllegalArgumentException("usage: LatencyChart latency.csv OUT_DIR");
        }
        List<String> csv = Files.readAllLines(Path.of(args[0]));
        Path out = Path.of(args[1]);
        Files.createDirectories(out);
        List<Integer> rtts = new ArrayList<>();
        for (String line : csv.subList(1, csv.size())) {
            int rtt = Integer.parseInt(line.split(",", -1)[3]);
            if (rtt > 0 && !rtts.contains(rtt)) {
                rtts.add(rtt);
            }
        }
        for (int rtt : rtts) {
            Files.writeString(out.resolve("latency-per-token-rtt" + rtt + ".svg"), render(csv, rtt, false));
            Files.writeString(out.resolve("latency-ttft-rtt" + rtt + ".svg"), render(csv, rtt, true));
        }
    }
}
