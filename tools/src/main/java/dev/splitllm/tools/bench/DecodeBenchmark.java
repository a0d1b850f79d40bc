package dev.splitllm.tools.bench;

import dev.splitllm.fetch.ModelSpec;
import dev.splitllm.fetch.ModelStore;
import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Decode-speed benchmark: loads a model in any format {@link ModelFiles} reads (llama2.c
 * {@code .bin}, GGUF, Hugging Face safetensors directory; stories15M by default) at a uniform
 * weight format, then generates {@code tokens} tokens greedily from the vocabulary's BOS, one forward per token with the
 * full-vocabulary classifier each step (as llama2.c's run.c does), {@code runs} times, and
 * reports the median decode rate per format. Formats are measured interleaved (see {@link #run}).
 *
 * <p>{@code java -cp ... dev.splitllm.tools.bench.DecodeBenchmark [--model PATH] [--tokenizer FILE]
 * [--threads N] [--runs N] [--tokens N] [--formats f32,q8_0,q4_0]} prints one line per format.
 */
public final class DecodeBenchmark {
    private DecodeBenchmark() {}

    /**
     * One format's figures. {@code tokensPerSecond} is wall-clock; {@code cpuTokensPerSecond}
     * divides by the calling thread's CPU time instead, which on a busy shared machine is far
     * steadier, and with one thread (everything runs on the caller) is the compute rate itself.
     */
    public record Result(WeightFormat format, String kernels, int threads, int tokens, double[] tokensPerSecond,
                         double[] cpuTokensPerSecond, long weightBytes, int[] generated) {
        /** Median wall-clock rate over the timed runs. */
        public double medianTokensPerSecond() {
            return median(tokensPerSecond);
        }

        /** Median rate per second of the calling thread's CPU time. */
        public double medianCpuTokensPerSecond() {
            return median(cpuTokensPerSecond);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%-5s %-11s threads %d: %7.1f tok/s median of %d runs of %d tokens (runs %s); "
                            + "per caller CPU second %7.1f tok/s; weights %.2f MiB",
                    format.id(), kernels, threads, medianTokensPerSecond(), tokensPerSecond.length, tokens,
                    Arrays.toString(Arrays.stream(tokensPerSecond).map(v -> Math.round(v * 10) / 10.0).toArray()),
                    medianCpuTokensPerSecond(), weightBytes / 1048576.0);
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /** {@link #run(Path, Path, List, Kernels, int, int, int)} with the tokenizer the model carries (or tokenizer.bin beside a .bin). */
    public static List<Result> run(Path model, List<WeightFormat> formats, Kernels kernels, int threads, int runs,
                                   int tokens) throws IOException {
        return run(model, null, formats, kernels, threads, runs, tokens);
    }

    /**
     * Loads {@code model} (any format, detected from its content) and converts it once per format
     * (every block, the embedding and the classifier at that format), then measures greedy
     * decoding of {@code tokens} tokens from the vocabulary's BOS: one warm-up per format, then
     * {@code runs} rounds that each time every format once, interleaved, so load from other
     * processes on a shared machine hits all formats alike. {@code tokenizer} is a llama2.c
     * {@code tokenizer.bin}, or null for the model's own; only its BOS id is used.
     */
    public static List<Result> run(Path model, Path tokenizer, List<WeightFormat> formats, Kernels kernels, int threads,
                                   int runs, int tokens) throws IOException {
        if (runs < 1 || runs > 1000) {
            throw new IllegalArgumentException("runs must be in [1, 1000], got " + runs);
        }
        if (formats.isEmpty()) {
            throw new IllegalArgumentException("no weight formats to measure");
        }
        int nf = formats.size();
        ModelWeights[] weights = new ModelWeights[nf];
        int bos;
        try (ModelSource src = ModelFiles.open(model)) {
            LlamaConfig config = src.config();
            if (tokens < 1 || tokens > config.seqLen()) {
                throw new IllegalArgumentException("tokens must be in [1, " + config.seqLen() + "], got " + tokens);
            }
            Tokenizer tok = tokenizer != null ? Llama2Tokenizer.load(tokenizer, config.vocabSize()) : src.tokenizer();
            if (tok == null) {
                throw new IllegalArgumentException(model + " carries no tokenizer and none was given: the benchmark needs its BOS id");
            }
            bos = tok.bos();
            if (bos < 0) {
                throw new IllegalArgumentException(model + ": the vocabulary has no BOS token to decode from");
            }
            ModelWeights stored = src.load(ModelSlice.all(config.nLayers()));
            for (int f = 0; f < nf; f++) {
                weights[f] = ModelQuantizer.apply(stored, PrecisionPlan.uniform(formats.get(f)));
            }
        }
        try (ThreadTeam team = new ThreadTeam(threads)) {
            Transformer[] tf = new Transformer[nf];
            int[][] generated = new int[nf][];
            double[][] rates = new double[nf][runs];
            double[][] cpuRates = new double[nf][runs];
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            boolean cpu = mx.isCurrentThreadCpuTimeSupported();
            for (int f = 0; f < nf; f++) {
                tf[f] = new Transformer(weights[f], kernels, team);
                generated[f] = generate(tf[f], bos, tokens);
            }
            for (int r = 0; r < runs; r++) {
                for (int f = 0; f < nf; f++) {
                    long c0 = cpu ? mx.getCurrentThreadCpuTime() : 0;
                    long t0 = System.nanoTime();
                    int[] again = generate(tf[f], bos, tokens);
                    long t1 = System.nanoTime();
                    long c1 = cpu ? mx.getCurrentThreadCpuTime() : 0;
                    rates[f][r] = tokens / ((t1 - t0) / 1e9);
                    cpuRates[f][r] = cpu ? tokens / ((c1 - c0) / 1e9) : Double.NaN;
                    if (!Arrays.equals(again, generated[f])) {
                        throw new IllegalStateException("greedy decoding at " + formats.get(f) + " is not deterministic across runs");
                    }
                }
            }
            List<Result> out = new ArrayList<>();
            for (int f = 0; f < nf; f++) {
                out.add(new Result(formats.get(f), kernels.name(), threads, tokens, rates[f], cpuRates[f], weights[f].bytes(),
                        generated[f]));
            }
            return out;
        }
    }

    private static int[] generate(Transformer tf, int bos, int tokens) {
        SegmentState st = tf.newState(tokens);
        int[] out = new int[tokens];
        int next = bos;
        for (int i = 0; i < tokens; i++) {
            float[] x = tf.embed(new int[] {next});
            tf.forward(st, x, 1);
            next = Sampler.argmax(tf.lastLogits(x, 1));
            out[i] = next;
        }
        return out;
    }

    public static void main(String[] args) throws IOException {
        Path model = null, tokenizer = null;
        int threads = 2, runs = 5, tokens = 256;
        List<WeightFormat> formats = new ArrayList<>(List.of(WeightFormat.F32, WeightFormat.Q8_0, WeightFormat.Q4_0));
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.equals("--help") || a.equals("-h")) {
                    System.out.println("usage: DecodeBenchmark [--model PATH] [--tokenizer FILE] [--threads N] [--runs N] [--tokens N] [--formats f32,q8_0,q4_0]");
                    return;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("option " + a + " needs a value");
                }
                String v = args[++i];
                switch (a) {
                    case "--model": model = Path.of(v); break;
                    case "--tokenizer": tokenizer = Path.of(v); break;
                    case "--threads": threads = Integer.parseInt(v); break;
                    case "--runs": runs = Integer.parseInt(v); break;
                    case "--tokens": tokens = Integer.parseInt(v); break;
                    case "--formats":
                        formats.clear();
                        for (String f : v.split(",")) formats.add(WeightFormat.parse(f));
                        break;
                    default: throw new IllegalArgumentException("unknown option " + a);
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("DecodeBenchmark: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (model == null) {
            model = ModelStore.stories15MDir().resolve(ModelSpec.STORIES15M.modelFile()); // the built-in model, as fetched
        }
        Kernels kernels = KernelProvider.best();
        System.out.println("model " + model + ", kernels " + kernels.name()
                + (KernelProvider.whyNotVector().isEmpty() ? "" : " (" + KernelProvider.whyNotVector() + ")")
                + ", threads " + threads + ", " + Runtime.getRuntime().availableProcessors() + " CPUs");
        for (Result r : run(model, tokenizer, formats, kernels, threads, runs, tokens)) {
            System.out.println(r);
        }
    }
}
