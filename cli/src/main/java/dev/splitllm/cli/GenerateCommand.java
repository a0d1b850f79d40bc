package dev.splitllm.cli;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.TextStream;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code splitllm generate}: runs the whole model locally (no split) on a prompt and streams
 * the continuation. The prompt runs as one batched forward (prefill); then one token at a time
 * (decode) until EOS, {@code -n} new tokens, or the end of the context.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate text from a prompt with the whole model on this machine (no split).",
                "Prints the prompt and the continuation as it streams, then one stats line on stderr:",
                "prompt tokens, prefill tok/s (the prompt runs as one batched forward) and decode tok/s."},
        footer = {"", "Example:", "  ./splitllm generate --prompt \"Once upon a time\" -n 64 --temperature 0",
                "  ./splitllm generate -p \"The dragon\" -n 100 --temperature 0.8 --top-p 0.9 --seed 42"})
public final class GenerateCommand implements Callable<Integer> {
    /** Upper bound on -n. */
    public static final int MAX_NEW_TOKENS = 1 << 20;

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = {"-p", "--prompt"}, defaultValue = "Once upon a time", description = "Prompt text (default: \"${DEFAULT-VALUE}\").")
    String prompt;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "256", paramLabel = "N",
            description = "Maximum number of new tokens (default: ${DEFAULT-VALUE}); stops earlier at end-of-text or a full context.")
    int maxTokens;

    @Option(names = {"-t", "--temperature"}, defaultValue = "1.0",
            description = "Sampling temperature; 0 = greedy, deterministic (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", defaultValue = "0.9",
            description = "Nucleus sampling mass in (0, 1]; 1 disables it (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", description = "Sampling seed (default: from the clock; printed with the stats).")
    Long seed;

    @Override
    public Integer call() {
        validate();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        shared.describeKernels(err);
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        int ctx = m.weights().config().seqLen();
        int[] promptIds = m.tokenizer().encode(prompt, true);
        if (promptIds.length > ctx) {
            throw new CliFailure("the prompt is " + promptIds.length + " tokens but the model's context holds " + ctx
                    + "; shorten the prompt");
        }
        long usedSeed = seed != null ? seed : System.nanoTime();
        Sampler sampler = new Sampler(temperature, topP, usedSeed);
        try (ThreadTeam team = new ThreadTeam(shared.threads())) {
            Transformer tf = new Transformer(m.weights(), KernelProvider.best(), team);
            SegmentState state = tf.newState(ctx);
            TextStream text = new TextStream(m.tokenizer());
            for (int i = 1; i < promptIds.length; i++) {
                out.print(text.next(promptIds[i]));
            }
            out.flush();

            long t0 = System.nanoTime();
            float[] x = tf.embed(promptIds);
            tf.forward(state, x, promptIds.length);
            float[] logits = tf.lastLogits(x, promptIds.length);
            long prefillNanos = System.nanoTime() - t0;

            int generated = 0, decodeSteps = 0;
            String stop = "limit of " + maxTokens + " tokens";
            long t1 = System.nanoTime();
            while (generated < maxTokens) {
                int next = sampler.sample(logits);
                if (next == m.tokenizer().eos()) {
                    stop = "end of text";
                    break;
                }
                generated++;
                out.print(text.next(next));
                out.flush();
                if (generated == maxTokens) {
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
            }
            long decodeNanos = System.nanoTime() - t1;
            out.println(text.flush());
            out.flush();
            err.println(String.format(Locale.ROOT,
                    "prompt %d tokens, prefill %.1f tok/s; generated %d tokens (stop: %s), decode %.1f tok/s; %s, %d threads%s",
                    promptIds.length, promptIds.length / seconds(prefillNanos), generated, stop,
                    decodeSteps == 0 ? 0.0 : decodeSteps / seconds(decodeNanos), tf.kernels().name(), team.threads(),
                    temperature > 0 ? ", seed " + usedSeed : ""));
            err.flush();
        }
        return 0;
    }

    private void validate() {
        if (maxTokens < 0 || maxTokens > MAX_NEW_TOKENS) {
            throw new ParameterException(spec.commandLine(), "-n must be in 0.." + MAX_NEW_TOKENS + ", got " + maxTokens);
        }
        if (!(temperature >= 0) || !Float.isFinite(temperature)) {
            throw new ParameterException(spec.commandLine(), "--temperature must be >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new ParameterException(spec.commandLine(), "--top-p must be in (0, 1], got " + topP);
        }
        if (prompt.length() > 1_000_000) {
            throw new ParameterException(spec.commandLine(), "--prompt is longer than 1,000,000 characters");
        }
    }

    private static double seconds(long nanos) {
        return Math.max(nanos, 1) / 1e9;
    }
}
