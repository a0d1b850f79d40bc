package dev.splitllm.tools.bench;

import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.Q8Activations;
import dev.splitllm.engine.tensor.F32Matrix;
import dev.splitllm.engine.tensor.MatrixConverter;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.weights.WeightFormat;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Single-thread matrix-vector kernel throughput per weight format, in GMAC/s of the calling
 * thread's CPU time (steady on a shared machine): the float row kernel ({@link WeightMatrix#dot},
 * one row at a time) against the matmul row kernel ({@link WeightMatrix#dotRows}: integer dot
 * products against activations quantized once to Q8 blocks, four-row tiles), on a
 * {@code rows x cols} matrix of random weights.
 *
 * <p>{@code java -cp ... dev.splitllm.tools.bench.KernelBenchmark [--rows 32000] [--cols 288]
 * [--formats f32,q8_0,q4_0] [--seconds 1]}; {@code -Dsplitllm.kernels=scalar} for the plain-Java kernels.
 */
public final class KernelBenchmark {
    private KernelBenchmark() {}

    /** One format's figures: GMAC/s of CPU time, float row kernel and matmul row kernel. */
    public record Result(WeightFormat format, String kernels, int rows, int cols, double rowDotGmacs, double dotRowsGmacs) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%-5s %-10s %dx%d: dot per row %6.2f GMAC/s, dotRows (Q8 activations; F32 4-row tiles) %6.2f GMAC/s (x%.2f)",
                    format.id(), kernels, rows, cols, rowDotGmacs, dotRowsGmacs, dotRowsGmacs / rowDotGmacs);
        }
    }

    public static List<Result> run(Kernels k, int rows, int cols, List<WeightFormat> formats, double seconds) {
        Random rnd = new Random(1);
        float[] src = new float[rows * cols];
        for (int i = 0; i < src.length; i++) src[i] = (float) rnd.nextGaussian() * 0.05f;
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
        List<Result> out = new ArrayList<>();
        for (WeightFormat f : formats) {
            WeightMatrix m = MatrixConverter.convert(new F32Matrix(src, rows, cols), f, "bench");
            float[] y = new float[rows];
            Q8Activations q8 = new Q8Activations();
            Runnable perRow = () -> {
                for (int r = 0; r < rows; r++) y[r] = m.dot(k, r, x, 0);
            };
            boolean intPath = f == WeightFormat.Q8_0 || f == WeightFormat.Q4_0;
            Runnable tiled = () -> {
                Q8Activations a = intPath ? q8.quantize(x, 1, cols) : null;
                m.dotRows(k, 0, rows, x, a, 0, y, 0);
            };
            time(perRow, seconds / 4);
            time(tiled, seconds / 4);
            double a = time(perRow, seconds), b = time(tiled, seconds);
            double macs = (double) rows * cols;
            out.add(new Result(f, k.name(), rows, cols, macs / a / 1e9, macs / b / 1e9));
        }
        return out;
    }

    /** Best CPU seconds per call over about {@code seconds} of calls. */
    private static double time(Runnable r, double seconds) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        double best = Double.MAX_VALUE;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        do {
            long c0 = mx.getCurrentThreadCpuTime();
            r.run();
            best = Math.min(best, (mx.getCurrentThreadCpuTime() - c0) / 1e9);
        } while (System.nanoTime() < end);
        return best;
    }

    public static void main(String[] args) {
        int rows = 32000, cols = 288;
        double seconds = 1;
        List<WeightFormat> formats = new ArrayList<>(List.of(WeightFormat.F32, WeightFormat.Q8_0, WeightFormat.Q4_0));
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--rows": rows = Integer.parseInt(args[i + 1]); break;
                case "--cols": cols = Integer.parseInt(args[i + 1]); break;
                case "--seconds": seconds = Double.parseDouble(args[i + 1]); break;
                case "--formats":
                    formats.clear();
                    for (String f : args[i + 1].split(",")) formats.add(WeightFormat.parse(f));
                    break;
                default: throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Kernels k = KernelProvider.best();
        for (Result r : run(k, rows, cols, formats, seconds)) System.out.println(r);
    }
}
