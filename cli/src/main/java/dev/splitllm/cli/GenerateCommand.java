package dev.splitllm.cli;

import dev.splitllm.engine.sample.Sampler;
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
 * (decode) until the end of the sequence (EOS or BOS, unless {@code --ignore-eos}), {@code -n}
 * new tokens, or the end of the context.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate text from a prompt with the whole model on this machine (no split).",
                "Prints the prompt and the continuation as it streams, then one stats line on stderr:",
                "prompt tokens, prefill time (the prompt runs as one batched forward, JIT cold) and decode tok/s",
                "after the first 16 steps."},
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
            description = "Maximum number of new tokens (default: ${DEFAULT-VALUE}); stops earlier at the end of the sequence or a full context.")
    int maxTokens;

    @Option(names = "--ignore-eos", description = "Keep generating past the model's end of sequence (EOS, or BOS for llama2.c checkpoints, which end a story with BOS as run.c does) until -n or a full context.")
    boolean ignoreEos;

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
        int[] promptIds = m.tokenizer().encode(prompt, true);
        long usedSeed = seed != null ? seed : System.nanoTime();
        LocalGeneration.Result r = LocalGeneration.run(m.weights(), m.tokenizer(), promptIds, maxTokens,
                new Sampler(temperature, topP, usedSeed), ignoreEos, shared.threads(), out);
        err.println(String.format(Locale.ROOT,
                "prompt %d tokens, prefill %.1f ms (first call, JIT cold: `bench engine` measures prefill speed); generated %d tokens"
                        + " (stop: %s), decode %.1f tok/s%s; %s, %d threads%s",
                promptIds.length, r.prefillMs(), r.tokens().length, r.stop(), r.decodeRate(),
                r.warm() ? " (after the first " + LocalGeneration.COLD_STEPS + " steps)" : " (JIT cold: too few steps to warm up)",
                r.kernels(), r.threads(), temperature > 0 ? ", seed " + usedSeed : ""));
        err.flush();
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
}
