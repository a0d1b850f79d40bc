package dev.splitllm.engine.onnx;

import dev.splitllm.fetch.ModelStore;
import dev.splitllm.engine.forward.Backend;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Prefill and decode throughput of a back half [split, L) (blocks, final norm and classifier)
 * on ONNX Runtime against the Java engine, same machine, same JVM, same inputs: the hidden
 * states the Java front half [0, split) produces for a real prompt. Each figure is the median
 * of several runs after one warm-up run per backend; runs alternate between the backends so
 * both see the same machine load.
 *
 * <pre>
 * java -cp ... dev.splitllm.engine.onnx.OnnxBenchmark [--model stories15M.bin] [--split 3]
 *      [--prefill 64] [--decode 64] [--runs 7] [--threads 2] [--ort-spin false]
 * </pre>
 */
public final class OnnxBenchmark {
    private OnnxBenchmark() {}

    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    private static final String TEXT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park "
            + "with her friends. One day, she found a shiny red ball under a big tree. She was very happy and ran to show "
            + "her mom. Her mom smiled and said they could play with the ball together after lunch. ";

    public static void main(String[] args) throws Exception {
        Path model = null;
        int split = 3, prefill = 64, decode = 64, runs = 7, threads = 2;
        boolean spin = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                usage("missing value for " + a);
            }
            String v = args[++i];
            switch (a) {
                case "--model" -> model = Path.of(v);
                case "--split" -> split = parse(a, v, 0, 1024);
                case "--prefill" -> prefill = parse(a, v, 1, 1 << 16);
                case "--decode" -> decode = parse(a, v, 1, 1 << 16);
                case "--runs" -> runs = parse(a, v, 1, 1000);
                case "--threads" -> threads = parse(a, v, 1, 1024);
                case "--ort-spin" -> spin = parseBoolean(a, v);
                default -> usage("unknown option " + a);
            }
        }
        if (model == null) {
            model = ModelStore.stories15MDir().resolve("stories15M.bin");
        }
        if (!Files.isRegularFile(model)) {
            usage("model file not found: " + model + " (run ./splitllm fetch-model first)");
        }
        LlamaConfig config = Llama2cCheckpoint.readConfig(model);
        if (split < 0 || split >= config.nLayers()) {
            usage("--split must be in [0, " + (config.nLayers() - 1) + "]");
        }
        if (prefill + decode > config.seqLen()) {
            usage("--prefill + --decode must not exceed the model's context of " + config.seqLen());
        }
        ModelWeights weights = Llama2cCheckpoint.load(model, ModelSlice.all(config.nLayers()));
        int capacity = prefill + decode, d = config.dim();

        try (ThreadTeam team = new ThreadTeam(threads);
             JavaBackend java = new JavaBackend(weights, KernelProvider.best(), team);
             OnnxBackend onnx = OnnxBackend.create(weights, OnnxOptions.defaults().withThreads(threads).withSpinning(spin))) {
            float[] inputs = frontHidden(java, split, prefill);
            System.out.printf(Locale.ROOT, "model %s: dim %d, %d layers; back half [%d, %d) + head; prefill T=%d, %d decode steps, "
                            + "median of %d runs, %d threads; ORT %s (spinning %s), Java %s; %d cores%n",
                    model.getFileName(), d, config.nLayers(), split, config.nLayers(), prefill, decode, runs, threads,
                    onnx.name(), spin ? "on" : "off", java.name(), Runtime.getRuntime().availableProcessors());
            System.out.printf(Locale.ROOT, "%-24s %14s %14s %18s %18s%n", "backend", "prefill tok/s", "decode tok/s",
                    "prefill tok/cpu-s", "decode tok/cpu-s");
            Backend[] backends = {java, onnx};
            double[][] pre = new double[backends.length][runs], dec = new double[backends.length][runs];
            double[][] preCpu = new double[backends.length][runs], decCpu = new double[backends.length][runs];
            for (Backend b : backends) {
                run(b, split, capacity, inputs, prefill, decode, d); // warm-up (and ORT graph build)
            }
            // Runs alternate between the backends so both see the same machine load.
            for (int r = 0; r < runs; r++) {
                for (int i = 0; i < backends.length; i++) {
                    double[] t = run(backends[i], split, capacity, inputs, prefill, decode, d);
                    pre[i][r] = t[0];
                    dec[i][r] = t[1];
                    preCpu[i][r] = t[2];
                    decCpu[i][r] = t[3];
                }
            }
            System.out.println("tok/s: wall clock. tok/cpu-s: per CPU second of the calling thread, which does all the work only at"
                    + " --threads 1 (then it is robust to other load on the machine); with more threads it overstates.");
            for (int i = 0; i < backends.length; i++) {
                System.out.printf(Locale.ROOT, "%-24s %14.1f %14.1f %18.1f %18.1f%n", backends[i].name(), median(pre[i]), median(dec[i]),
                        median(preCpu[i]), median(decCpu[i]));
            }
        }
    }

    /** Hidden states after blocks [0, split) of the Java engine for the first {@code T} tokens of TEXT. */
    private static float[] frontHidden(JavaBackend java, int split, int T) throws Exception {
        Path tok = ModelStore.stories15MDir().resolve("tokenizer.bin");
        int[] ids;
        if (Files.isRegularFile(tok) && java.config().vocabSize() == 32000) {
            var tokenizer = dev.splitllm.engine.tokenizer.Llama2Tokenizer.load(tok, 32000);
            StringBuilder text = new StringBuilder(TEXT);
            int[] all = tokenizer.encode(text.toString(), true);
            while (all.length < T) {
                text.append(TEXT);
                all = tokenizer.encode(text.toString(), true);
            }
            ids = Arrays.copyOf(all, T);
        } else {
            ids = new int[T];
            for (int t = 0; t < T; t++) {
                ids[t] = 1 + (t * 7919) % (java.config().vocabSize() - 1);
            }
        }
        try (Segment front = java.open(0, split, T)) {
            float[] h = front.embed(ids);
            front.forward(h, T);
            return h;
        }
    }

    /** {prefill tok/s, decode tok/s, prefill tok/cpu-s, decode tok/cpu-s} of one fresh back-half stream. */
    private static double[] run(Backend b, int split, int capacity, float[] inputs, int T, int steps, int d) {
        try (Segment back = b.open(split, b.config().nLayers(), capacity)) {
            float[] h = inputs.clone();
            long t0 = System.nanoTime(), c0 = CPU.getCurrentThreadCpuTime();
            back.forward(h, T);
            float[] logits = back.lastLogits(h, T);
            long t1 = System.nanoTime(), c1 = CPU.getCurrentThreadCpuTime();
            float[] row = new float[d];
            for (int i = 0; i < steps; i++) {
                System.arraycopy(inputs, (i % T) * d, row, 0, d);
                back.forward(row, 1);
                logits = back.lastLogits(row, 1);
            }
            long t2 = System.nanoTime(), c2 = CPU.getCurrentThreadCpuTime();
            if (logits.length != b.config().vocabSize()) {
                throw new IllegalStateException("unexpected logits length " + logits.length);
            }
            return new double[] {T * 1e9 / (t1 - t0), steps * 1e9 / (t2 - t1), T * 1e9 / Math.max(1, c1 - c0), steps * 1e9 / Math.max(1, c2 - c1)};
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static int parse(String option, String value, int min, int max) {
        try {
            int v = Integer.parseInt(value);
            if (v < min || v > max) {
                usage(option + " must be in [" + min + ", " + max + "], got " + v);
            }
            return v;
        } catch (NumberFormatException e) {
            usage(option + " needs an integer, got '" + value + "'");
            return 0;
        }
    }

    private static boolean parseBoolean(String option, String value) {
        if (!value.equals("true") && !value.equals("false")) {
            usage(option + " needs true or false, got '" + value + "'");
        }
        return Boolean.parseBoolean(value);
    }

    private static void usage(String problem) {
        System.err.println("error: " + problem);
        System.err.println("usage: OnnxBenchmark [--model stories15M.bin] [--split 3] [--prefill 64] [--decode 64] [--runs 7] [--threads 2] [--ort-spin false]");
        System.exit(2);
    }
}
