package dev.splitllm.cli;

import dev.splitllm.engine.kernels.KernelProvider;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Options every command shares, mixed into each so they mean the same everywhere:
 * {@code --model}, {@code --tokenizer}, {@code --threads}, {@code --verbose}.
 */
public final class SharedOptions {
    /** Upper bound on --threads. */
    public static final int MAX_THREADS = 256;

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = {"-m", "--model"}, paramLabel = "FILE",
            description = "Model: a llama2.c checkpoint (.bin), a GGUF file, or a Hugging Face directory (detected from the content). Default: the built-in stories15M, fetched on first use.")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "llama2.c tokenizer.bin. Default: the model's own (GGUF, Hugging Face), else tokenizer.bin next to --model, else the built-in one.")
    Path tokenizer;

    private int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = {"-v", "--verbose"},
            description = "Print which kernels run (and why the Vector API is not used, if it is not) and stack traces on errors.")
    boolean verbose;

    @Option(names = "--threads", paramLabel = "N",
            description = "Worker threads for the matrix kernels (default: the number of available processors).")
    void setThreads(int n) {
        if (n < 1 || n > MAX_THREADS) {
            throw new ParameterException(mixee.commandLine(), "--threads must be in 1.." + MAX_THREADS + ", got " + n);
        }
        threads = n;
    }

    public int threads() {
        return threads;
    }

    public boolean verbose() {
        return verbose;
    }

    public Path model() {
        return model;
    }

    public Path tokenizer() {
        return tokenizer;
    }

    /** With --verbose, says which kernels run and why the Vector API is not used, if so. */
    public void describeKernels(PrintWriter err) {
        if (!verbose) {
            return;
        }
        err.println("kernels: " + KernelProvider.best().name() + ", threads: " + threads);
        String why = KernelProvider.whyNotVector();
        if (!why.isEmpty()) {
            err.println("Vector API not used: " + why);
        }
        err.flush();
    }
}
