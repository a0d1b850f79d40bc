package dev.splitllm.cli;

import dev.splitllm.tools.bench.DecodeBenchmark;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code splitllm bench weights}: decode speed of the whole model at each weight format; the
 * model is any format {@code --model} accepts (llama2.c, GGUF, Hugging Face directory).
 */
@Command(name = "weights", mixinStandardHelpOptions = true,
        description = {"Decode tok/s of the whole model with every block, the embedding and the classifier stored at each",
                "weight format (F32, Q8_0, Q4_0, ...): greedy from BOS, formats interleaved run by run, median of --runs."},
        footer = {"", "Example:", "  ./splitllm bench weights --formats f32,q8_0,q4_0 --runs 5"})
public final class BenchWeightsCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--formats", split = ",", defaultValue = "f32,q8_0,q4_0", description = "Formats to compare (default: ${DEFAULT-VALUE}).")
    List<String> formats;

    @Option(names = "--runs", defaultValue = "5", description = "Timed runs per format (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--tokens", defaultValue = "256", description = "Tokens per run (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Override
    public Integer call() throws IOException {
        List<WeightFormat> fs = new ArrayList<>();
        for (String f : formats) {
            try {
                fs.add(WeightFormat.parse(f));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--formats: " + e.getMessage());
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        ModelLoader.ModelPaths paths = ModelLoader.resolve(shared, System.err);
        try {
            for (DecodeBenchmark.Result r : DecodeBenchmark.run(paths.model(), paths.tokenizer(), fs, KernelProvider.best(), shared.threads(), runs, tokens)) {
                out.println(r);
            }
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        out.println("JDK " + Runtime.version());
        return 0;
    }
}
