package dev.splitllm.cli;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.tools.bench.MemoryBandwidth;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code splitllm bench engine}: decode speed of the whole model (any format {@code --model}
 * accepts), greedy from the vocabulary's BOS, one token per forward (the full-vocabulary logits
 * and argmax included, as in llama2.c's run.c). Warm-up runs for at least {@code --warmup}
 * seconds (and {@link #WARMUP_RUNS} runs), then {@code --runs} timed runs, on 1 thread and on
 * {@code --threads}. The warm-up is by time because HotSpot compiles {@code forward} (called once
 * per token) with C2 only after about 5,000 calls: counting runs left the first timed runs
 * 25-30 % slower than the steady state a serving process reaches.
 */
@Command(name = "engine", mixinStandardHelpOptions = true,
        description = {"Decode speed of the engine: generates --tokens tokens greedily from BOS, one forward per token",
                "(logits over the full vocabulary and argmax included), after --warmup seconds of warm-up runs; prints each run's",
                "tok/s and the median, on 1 thread and on --threads threads, with the kernels and the JDK; then the warm",
                "prefill speed at T = --prefill, and decode as a fraction of the streaming read bandwidth measured in the same run."},
        footer = {"", "Example:", "  ./splitllm bench engine --tokens 256 --runs 5",
                "  JAVA_OPTS=-Dsplitllm.kernels=scalar ./splitllm bench engine --threads 2"})
public final class BenchEngineCommand implements Callable<Integer> {
    /** Untimed runs before the timed ones, per thread count. */
    static final int WARMUP_RUNS = 3;
    /** Upper bound on --warmup, seconds. */
    static final int MAX_WARMUP_SECONDS = 600;
    /** Untimed prefill time before the timed prefills, per thread count. */
    static final double PREFILL_WARMUP_SECONDS = 2;
    /** Upper bound on --runs. */
    public static final int MAX_RUNS = 1000;

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--tokens", defaultValue = "256", paramLabel = "N",
            description = "Tokens to generate per run, at most the model's context (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--runs", defaultValue = "5", paramLabel = "N", description = "Timed runs per thread count (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--prefill", defaultValue = "128", paramLabel = "T",
            description = "Prompt length of the prefill measurement: one batched forward of T tokens, warm (default: ${DEFAULT-VALUE}; 0 skips it).")
    int prefill;

    @Option(names = "--warmup", defaultValue = "10", paramLabel = "SECONDS",
            description = "Untimed decode runs before the timed ones, per thread count, for at least this long (and at least "
                    + WARMUP_RUNS + " runs): the JIT compiles the per-token path only after some thousand tokens (default: ${DEFAULT-VALUE}).")
    double warmup;

    @Option(names = "--bandwidth", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Measure the machine's streaming read bandwidth in the same run and print decode as a fraction of it (default: on).")
    boolean bandwidth;

    @Override
    public Integer call() {
        if (runs < 1 || runs > MAX_RUNS) {
            throw new ParameterException(spec.commandLine(), "--runs must be in 1.." + MAX_RUNS + ", got " + runs);
        }
        if (!(warmup >= 0 && warmup <= MAX_WARMUP_SECONDS)) {
            throw new ParameterException(spec.commandLine(), "--warmup must be in 0.." + MAX_WARMUP_SECONDS + " seconds, got " + warmup);
        }
        PrintWriter out = spec.commandLine().getOut();
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        int ctx = m.weights().config().seqLen();
        if (prefill < 0 || prefill > ctx) {
            throw new ParameterException(spec.commandLine(), "--prefill must be in 0.." + ctx + " (the model's context), got " + prefill);
        }
        if (tokens < 1 || tokens > ctx) {
            throw new ParameterException(spec.commandLine(), "--tokens must be in 1.." + ctx + " (the model's context), got " + tokens);
        }
        int bos = m.tokenizer().bos();
        if (bos < 0) {
            throw new CliFailure(m.modelFile() + ": the vocabulary has no BOS token to decode from");
        }
        String why = KernelProvider.whyNotVector();
        out.printf(Locale.ROOT, "bench engine: %s, %d tokens greedy from BOS, %d runs after at least %s s and %d runs of warm-up%n",
                m.modelFile().getFileName(), tokens, runs, fmt(warmup), WARMUP_RUNS);
        out.printf(Locale.ROOT, "JDK %s (%s), kernels %s%s%n", Runtime.version(), System.getProperty("java.vm.name"),
                KernelProvider.best().name(), why.isEmpty() ? "" : " (Vector API not used: " + why + ")");
        out.flush();
        Set<Integer> counts = new LinkedHashSet<>(Arrays.asList(1, shared.threads()));
        for (int threads : counts) {
            try (ThreadTeam team = new ThreadTeam(threads)) {
                Transformer tf = new Transformer(m.weights(), KernelProvider.best(), team);
                // Warm-up by time: the hot loops compile within a few hundred forwards, forward() itself
                // (once per token) only after some thousand.
                long w0 = System.nanoTime();
                int[] reference = decode(tf, ctx, bos, null);
                int warmRuns = 1;
                while (warmRuns < WARMUP_RUNS || System.nanoTime() - w0 < warmup * 1e9) {
                    decode(tf, ctx, bos, reference);
                    warmRuns++;
                }
                out.printf(Locale.ROOT, "threads=%d: warm-up %d runs (%d tokens) in %.1f s%n", threads, warmRuns,
                        (long) warmRuns * tokens, (System.nanoTime() - w0) / 1e9);
                double[] rates = new double[runs];
                StringBuilder line = new StringBuilder();
                for (int r = 0; r < runs; r++) {
                    long t0 = System.nanoTime();
                    int[] ids = decode(tf, ctx, bos, reference);
                    rates[r] = ids.length / (Math.max(System.nanoTime() - t0, 1) / 1e9);
                    line.append(String.format(Locale.ROOT, " %.1f", rates[r]));
                }
                double med = median(rates);
                out.printf(Locale.ROOT, "threads=%d: runs%s tok/s; median %.1f tok/s%n", threads, line, med);
                out.flush();
                if (prefill > 0) {
                    int[] prompt = new int[prefill];
                    prompt[0] = bos;
                    for (int i = 1; i < prefill; i++) prompt[i] = reference[(i - 1) % reference.length];
                    long p0 = System.nanoTime();
                    for (int w = 0; w < WARMUP_RUNS || System.nanoTime() - p0 < PREFILL_WARMUP_SECONDS * 1e9; w++) {
                        prefillOnce(tf, ctx, prompt);
                    }
                    double[] p = new double[runs];
                    StringBuilder pl = new StringBuilder();
                    for (int r = 0; r < runs; r++) {
                        p[r] = prefill / prefillOnce(tf, ctx, prompt);
                        pl.append(String.format(Locale.ROOT, " %.0f", p[r]));
                    }
                    out.printf(Locale.ROOT, "threads=%d: prefill T=%d (one batched forward, logits of the last token), runs%s tok/s; median %.0f tok/s%n",
                            threads, prefill, pl, median(p));
                    out.flush();
                }
                if (bandwidth) {
                    double bw = MemoryBandwidth.measure(KernelProvider.best(), team, MemoryBandwidth.DEFAULT_MIB, 3);
                    // Bytes a decode step reads: every weight, except that an untied embedding table gives one row.
                    var w = m.weights();
                    long bytes = w.bytes() - (w.tokenEmbedding() != null && w.tokenEmbedding() != w.classifier() ? w.tokenEmbedding().bytes() : 0);
                    out.printf(Locale.ROOT, "threads=%d: weights %.1f MiB read per decode step; median decode moves %.2f GB/s = %.0f%% of the"
                                    + " measured streaming read bandwidth %.2f GB/s (%d MiB dot product, same threads, same run)%n",
                            threads, bytes / 1048576.0, med * bytes / 1e9, 100 * med * bytes / bw, bw / 1e9, MemoryBandwidth.DEFAULT_MIB);
                    out.flush();
                }
            }
        }
        return 0;
    }

    /** Seconds for one prefill of {@code prompt} into a fresh state (embedding, forward, last logits). */
    private static double prefillOnce(Transformer tf, int ctx, int[] prompt) {
        SegmentState state = tf.newState(ctx);
        long t0 = System.nanoTime();
        float[] x = tf.embed(prompt);
        tf.forward(state, x, prompt.length);
        Sampler.argmax(tf.lastLogits(x, prompt.length));
        return Math.max(System.nanoTime() - t0, 1) / 1e9;
    }

    /** Greedy decode from {@code bos}; when {@code expected} is given, checks the run produced the same ids. */
    private int[] decode(Transformer tf, int ctx, int bos, int[] expected) {
        SegmentState state = tf.newState(ctx);
        int[] ids = new int[tokens];
        int token = bos;
        for (int i = 0; i < tokens; i++) {
            float[] x = tf.embed(new int[] {token});
            tf.forward(state, x, 1);
            token = Sampler.argmax(tf.lastLogits(x, 1));
            ids[i] = token;
        }
        if (expected != null && !Arrays.equals(ids, expected)) {
            throw new CliFailure("greedy decode gave different tokens on a repeated run: the engine is not deterministic");
        }
        return ids;
    }

    private static String fmt(double seconds) {
        return seconds == Math.rint(seconds) ? Long.toString((long) seconds) : Double.toString(seconds);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
