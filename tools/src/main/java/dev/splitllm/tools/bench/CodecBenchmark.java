package dev.splitllm.tools.bench;

import dev.splitllm.quantization.codec.ActivationCodec;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CodecTables;
import dev.splitllm.quantization.codec.HadamardRotation;
import dev.splitllm.quantization.codec.RansTable;
import dev.splitllm.quantization.codec.CorruptPayloadException;
import dev.splitllm.quantization.codec.OutlierChannels;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Single-thread throughput of the activation codec: encode and decode speed in GB/s of fp32
 * activations (4·T·d bytes per call; fastest of 10 timing windows), and payload bits per element, on synthetic activations shaped
 * like a transformer's residual stream (Gaussian rows plus a few large fixed outlier channels and
 * rare scattered spikes). Prints a table; {@link #run} is what a CLI command calls.
 */
public final class CodecBenchmark {
    private CodecBenchmark() {}

    /**
     * One measured configuration.
     *
     * @param spec          codec
     * @param tokens        T
     * @param dim           d
     * @param encodeGBps    fp32 GB/s through encode
     * @param decodeGBps    fp32 GB/s through decode
     * @param roundTripGBps fp32 GB/s through encode + decode (4·T·d / (t_enc + t_dec))
     * @param bitsPerElement payload bits per activation, side information included
     * @param relativeMse   ||x - x̂||² / ||x||² over the whole block
     */
    public record Result(CodecSpec spec, int tokens, int dim, double encodeGBps, double decodeGBps,
                         double roundTripGBps, double bitsPerElement, double relativeMse) {
        /** One table line. */
        public String line() {
            return String.format(Locale.ROOT, "%-44s %5d %5d %9.2f %9.2f %9.2f %8.3f %10.2e",
                    spec, tokens, dim, encodeGBps, decodeGBps, roundTripGBps, bitsPerElement, relativeMse);
        }

        /** The header matching {@link #line()}. */
        public static String header() {
            return String.format(Locale.ROOT, "%-44s %5s %5s %9s %9s %9s %8s %10s",
                    "codec", "T", "d", "enc GB/s", "dec GB/s", "e+d GB/s", "bits/el", "rel MSE");
        }
    }

    /**
     * Synthetic activations: N(0, 1) rows; channels {@code c % 97 == 5} (at most 4 of them) carry
     * ±(20..60); about one value in 2,000 elsewhere is a ±(8..16) spike.
     */
    public static float[] activations(int tokens, int dim, long seed) {
        Random random = new Random(seed);
        float[] x = new float[tokens * dim];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
            if (random.nextInt(2000) == 0) {
                x[i] = (random.nextBoolean() ? 1 : -1) * (8f + 8f * random.nextFloat());
            }
        }
        int outliers = 0;
        for (int c = 5; c < dim && outliers < 4; c += 97, outliers++) {
            float magnitude = 20f + 40f * random.nextFloat();
            for (int t = 0; t < tokens; t++) {
                x[t * dim + c] = (random.nextInt(8) == 0 ? -1 : 1) * magnitude * (0.9f + 0.2f * random.nextFloat());
            }
        }
        return x;
    }

    /** Measures one configuration for at least {@code seconds} per direction after a warm-up. */
    public static Result run(CodecSpec spec, int tokens, int dim, double seconds) {
        float[] x = activations(tokens, dim, 42L + tokens * 31L + dim);
        OutlierChannels channels = spec.sessionChannels() ? OutlierChannels.select(x, tokens, dim, spec.tau()) : null;
        ActivationCodec codec = new ActivationCodec();
        CodecTables tables = null;
        if (spec.needsTables()) { // mean / ans: tables calibrated on other rows of the same synthetic source
            tables = spec.tablesHash() != 0 ? CodecTables.find(spec.tablesHash())
                    : CodecTables.calibrate(spec, 0, activations(512, dim, 7L + dim), 512, dim);
            spec = spec.withTables(tables.hash());
        }
        final CodecSpec sp = spec;
        final CodecTables tb = tables;
        byte[] payload = codec.encode(spec, x, tokens, dim, channels, tables);
        float[] decoded;
        try {
            decoded = codec.decode(spec, payload, tokens, dim, channels, tables);
        } catch (CorruptPayloadException e) {
            throw new IllegalStateException("codec failed to decode its own payload: " + e.getMessage(), e);
        }
        double err = 0, norm = 0;
        for (int i = 0; i < x.length; i++) {
            double e = x[i] - decoded[i];
            err += e * e;
            norm += (double) x[i] * x[i];
        }
        long bytes = 4L * tokens * dim;
        double encodeSeconds = timePerCall(() -> codec.encode(sp, x, tokens, dim, channels, tb), seconds);
        float[] hidden = new float[tokens * dim]; // a receiver decodes into its reusable buffer
        double decodeSeconds = timePerCall(() -> {
            try {
                codec.decodeInto(sp, payload, 0, payload.length, tokens, dim, channels, Integer.MAX_VALUE, hidden, tb);
            } catch (CorruptPayloadException e) {
                throw new IllegalStateException(e);
            }
        }, seconds);
        return new Result(spec.withTables(0), tokens, dim, bytes / encodeSeconds / 1e9, bytes / decodeSeconds / 1e9,
                bytes / (encodeSeconds + decodeSeconds) / 1e9,
                ActivationCodec.bitsPerElement(payload.length, tokens, dim), norm == 0 ? 0 : err / norm);
    }

    /**
     * Seconds per call of {@code body}: after a warm-up of a third of the time, the fastest of 10
     * equal windows. The fastest window, not the mean, because on a shared machine the slow windows
     * measure the other processes.
     */
    private static double timePerCall(Runnable body, double seconds) {
        long warmEnd = System.nanoTime() + (long) (seconds * 0.33e9);
        while (System.nanoTime() < warmEnd) {
            body.run();
        }
        long window = (long) (seconds * 1e9 / WINDOWS);
        double best = Double.MAX_VALUE;
        for (int w = 0; w < WINDOWS; w++) {
            long start = System.nanoTime();
            long end = start + window;
            long calls = 0;
            long now;
            do {
                body.run();
                calls++;
                now = System.nanoTime();
            } while (now < end);
            best = Math.min(best, (now - start) / 1e9 / calls);
        }
        return best;
    }

    private static final int WINDOWS = 10;

    /**
     * One stage alone: {@code gbps} is forward + inverse (or encode + decode) together, in GB/s of
     * {@code unit} (fp32 activations for the rotation, one byte per code for rANS).
     */
    public record StageResult(String stage, int dim, double forwardGBps, double inverseGBps, double roundTripGBps, String unit) {
        public String line() {
            return String.format(Locale.ROOT, "%-44s %5d %9.2f %9.2f %9.2f  %s", stage, dim, forwardGBps, inverseGBps, roundTripGBps, unit);
        }

        public static String header() {
            return String.format(Locale.ROOT, "%-44s %5s %9s %9s %9s  %s", "stage", "d", "fwd GB/s", "inv GB/s", "both GB/s", "of");
        }
    }

    /**
     * The fast Walsh-Hadamard rotation (64 rows of d, in place) and the rANS coder on the codes of
     * {@code tabq:eps=3e-4,bits=2..8,tau=6,rot} (64 rows of d, tables calibrated on other rows).
     */
    public static List<StageResult> runStages(int dim, double seconds) {
        int tokens = 64;
        float[] x = activations(tokens, dim, 99L + dim);
        HadamardRotation rot = new HadamardRotation(dim, CodecSpec.DEFAULT_ROTATION_SEED);
        double fwd = timePerCall(() -> {
            for (int t = 0; t < tokens; t++) {
                rot.forward(x, t * dim);
            }
        }, seconds);
        double inv = timePerCall(() -> {
            for (int t = 0; t < tokens; t++) {
                rot.inverse(x, t * dim);
            }
        }, seconds);
        long fbytes = 4L * tokens * dim;
        List<StageResult> out = new ArrayList<>();
        out.add(new StageResult("rotation (FWHT, block " + rot.block() + ")", dim, fbytes / fwd / 1e9, fbytes / inv / 1e9,
                fbytes / (fwd + inv) / 1e9, "fp32 activations"));
        // rANS on real codes: the 7- and 8-bit codes TAB-Q sends at a tight budget.
        CodecSpec template = CodecSpec.parse("tabq:eps=3e-4,bits=2/3/4/5/6/7/8,tau=6,rot,ans");
        CodecTables tables = CodecTables.calibrate(template, 0, activations(512, dim, 7L + dim), 512, dim);
        int bits = 7;
        RansTable table = tables.table(bits);
        byte[] codes = new byte[tokens * dim];
        int[] freq = table.frequencies();
        Random random = new Random(5);
        // draw codes from the table's own distribution (what the coder sees on calibrated data)
        int[] cdf = new int[freq.length + 1];
        for (int s = 0; s < freq.length; s++) {
            cdf[s + 1] = cdf[s] + freq[s];
        }
        for (int i = 0; i < codes.length; i++) {
            int u = random.nextInt(RansTable.TOTAL);
            int s = 0;
            while (cdf[s + 1] <= u) {
                s++;
            }
            codes[i] = (byte) s;
        }
        byte[] stream = new byte[tokens * (RansTable.STATE_BYTES + 2 * dim)];
        byte[] scratch = new byte[RansTable.STATE_BYTES + 2 * dim];
        int[] at = new int[tokens + 1];
        for (int t = 0; t < tokens; t++) { // one stream per token row, as in a record
            at[t + 1] = at[t] + table.encode(slice(codes, t * dim, dim), dim, scratch, stream, at[t]);
        }
        byte[] row = new byte[dim];
        byte[][] rows = new byte[tokens][];
        for (int t = 0; t < tokens; t++) {
            rows[t] = slice(codes, t * dim, dim);
        }
        double enc = timePerCall(() -> {
            int p = 0;
            for (int t = 0; t < tokens; t++) {
                p += table.encode(rows[t], dim, scratch, stream, p);
            }
        }, seconds);
        double dec = timePerCall(() -> {
            for (int t = 0; t < tokens; t++) {
                if (table.decode(stream, at[t], at[t + 1], row, dim) < 0) {
                    throw new IllegalStateException("rANS failed to decode its own stream");
                }
            }
        }, seconds);
        long cbytes = (long) tokens * dim;
        out.add(new StageResult(String.format(Locale.ROOT, "rANS %d-bit codes (%.2f bits/code)", bits, 8.0 * at[tokens] / cbytes),
                dim, cbytes / enc / 1e9, cbytes / dec / 1e9, cbytes / (enc + dec) / 1e9, "codes (1 byte each)"));
        return out;
    }

    private static byte[] slice(byte[] b, int from, int n) {
        byte[] out = new byte[n];
        System.arraycopy(b, from, out, 0, n);
        return out;
    }

    /** The default grid: the codecs that matter × T ∈ {1, 64, 256} × d ∈ {288, 2048}. */
    public static List<Result> runDefaultGrid(double secondsPerRun) {
        String[] specs = {"fp16", "q8_0", "uniform:bits=4", "tabq:eps=0.001", "tabq:eps=0.001,tau=6",
            "tabq:eps=0.01,tau=6", "tabq:eps=0.001,tau=6,zstd", "tabq:eps=0.001,tau=6,rot",
            "tabq:eps=3e-4,bits=2/3/4/5/6/7/8,tau=6,rot,ans", "tabq:eps=3e-4,bits=2/3/4/5/6/7/8,tau=6,group=32,ans",
            "tabq:eps=3e-4,bits=2/3/4/5/6/7/8,tau=6,mean,rot,ans,zstd=prefill"};
        List<Result> results = new ArrayList<>();
        for (int dim : new int[] {288, 2048}) {
            for (int tokens : new int[] {1, 64, 256}) {
                for (String s : specs) {
                    results.add(run(CodecSpec.parse(s), tokens, dim, secondsPerRun));
                }
            }
        }
        return results;
    }

    /** Prints the default grid; optional argument: seconds per measurement (default 0.3). */
    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 0.3;
        System.out.println("single thread; GB/s of fp32 activations, fastest of " + WINDOWS + " windows of " + seconds / WINDOWS + " s");
        System.out.println(Result.header());
        for (Result r : runDefaultGrid(seconds)) {
            System.out.println(r.line());
        }
        System.out.println(StageResult.header());
        for (int dim : new int[] {288, 2048}) {
            for (StageResult r : runStages(dim, seconds)) {
                System.out.println(r.line());
            }
        }
    }
}
