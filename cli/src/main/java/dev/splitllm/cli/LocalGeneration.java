package dev.splitllm.cli;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.TextStream;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;

/**
 * The whole model on this machine, streaming the continuation: {@code generate}, and {@code edge}
 * / {@code demo} when a plan puts every block on the edge. The prompt runs as one batched forward;
 * then one token at a time until the end of the sequence (unless ignored), the token limit, or a
 * full context.
 */
final class LocalGeneration {
    private LocalGeneration() {}

    /** Decode steps left out of the decode rate while the JIT compiles the hot loops. */
    static final int COLD_STEPS = 16;

    /**
     * What a run produced and how fast.
     *
     * @param decodeRate tok/s after the first {@link #COLD_STEPS} steps when {@code warm}, else over all steps
     */
    record Result(int[] tokens, String stop, double prefillMs, double decodeRate, boolean warm, String kernels, int threads) {}

    /**
     * The model's end of sequence: EOS, and BOS for llama2.c checkpoints (they mark a new story
     * with BOS and never emit EOS; run.c stops there too). A generated BOS starts a new document
     * in any model, so it ends this one.
     */
    static boolean endsSequence(int token, Tokenizer tokenizer) {
        return token == tokenizer.eos() || token == tokenizer.bos();
    }

    /** Streams the prompt (after BOS) and the continuation of {@code promptIds} to {@code out}. */
    static Result run(ModelWeights weights, Tokenizer tokenizer, int[] promptIds, int maxTokens, Sampler sampler,
                      boolean ignoreEos, int threads, PrintWriter out) {
        int ctx = weights.config().seqLen();
        if (promptIds.length > ctx) {
            throw new CliFailure("the prompt is " + promptIds.length + " tokens but the model's context holds " + ctx
                    + "; shorten the prompt");
        }
        try (ThreadTeam team = new ThreadTeam(threads)) {
            Transformer tf = new Transformer(weights, KernelProvider.best(), team);
            SegmentState state = tf.newState(ctx);
            TextStream text = new TextStream(tokenizer);
            for (int i = 1; i < promptIds.length; i++) {
                out.print(text.next(promptIds[i]));
            }
            out.flush();

            long t0 = System.nanoTime();
            float[] x = tf.embed(promptIds);
            tf.forward(state, x, promptIds.length);
            float[] logits = tf.lastLogits(x, promptIds.length);
            long prefillNanos = System.nanoTime() - t0;

            int[] generated = new int[Math.max(0, Math.min(maxTokens, ctx))];
            int count = 0, decodeSteps = 0;
            String stop = "limit of " + maxTokens + " tokens";
            long t1 = System.nanoTime();
            long warmT = 0;
            while (count < maxTokens) {
                int next = sampler.sample(logits);
                if (!ignoreEos && endsSequence(next, tokenizer)) {
                    stop = "end of sequence";
                    break;
                }
                generated[count++] = next;
                out.print(text.next(next));
                out.flush();
                if (count == maxTokens) {
                    break;
                }
                if (state.length() >= ctx) {
                    stop = "context full (" + ctx + " positions)";
                    break;
                }
                x = tf.embed(new int[] {next});
                tf.forward(state, x, 1);
                logits = tf.lastLogits(x, 1);
                decodeSteps++;
                if (decodeSteps == COLD_STEPS) {
                    warmT = System.nanoTime();
                }
            }
            long decodeNanos = System.nanoTime() - t1;
            // The first forwards of a JVM run partly interpreted: the decode rate counts only the
            // steps after the first COLD_STEPS when there are enough of them, and the prefill (the
            // first forward of all) is reported as a time, not as a speed (bench engine measures both warm).
            boolean warm = decodeSteps >= 2 * COLD_STEPS;
            double decodeRate = decodeSteps == 0 ? 0.0 : warm ? (decodeSteps - COLD_STEPS) / seconds(System.nanoTime() - warmT)
                    : decodeSteps / seconds(decodeNanos);
            out.println(text.flush());
            out.flush();
            return new Result(Arrays.copyOf(generated, count), stop, prefillNanos / 1e6, decodeRate, warm, tf.kernels().name(),
                    team.threads());
        }
    }

    /**
     * {@code edge} and {@code demo} when every block runs on this device (an all-edge plan, or
     * {@code --split} equal to the number of blocks): the whole model at the edge weight format,
     * with the split run's sampler, and no cloud session.
     */
    static Result runAllEdge(ModelLoader.Loaded m, SplitOptions split, String prompt, int maxTokens, int threads,
                             PrintWriter out, PrintWriter err) {
        WeightFormat format = split.edgeFormat();
        ModelWeights weights = format == WeightFormat.F32 ? m.weights()
                : ModelQuantizer.apply(m.weights(), PrecisionPlan.uniform(format));
        err.printf(Locale.ROOT, "every block runs on this device at %s (%.2f MB of weights): no split, no cloud session%s%n",
                format.id(), weights.bytes() / 1e6,
                split.plan != null ? " (the plan found no split worth it)" : "");
        err.flush();
        int[] promptIds = m.tokenizer().encode(prompt, true);
        Result r = run(weights, m.tokenizer(), promptIds, Math.min(maxTokens, split.maxSeqLen - promptIds.length),
                new Sampler(split.temperature, split.topP, split.seed), false, threads, out);
        err.printf(Locale.ROOT, "local: %d tokens (stop: %s), prefill %.1f ms (JIT cold), decode %.1f tok/s%s%n", r.tokens().length,
                r.stop(), r.prefillMs(), r.decodeRate(), r.warm() ? "" : " (JIT cold: too few steps to warm up)");
        err.flush();
        return r;
    }

    private static double seconds(long nanos) {
        return Math.max(nanos, 1) / 1e9;
    }
}
