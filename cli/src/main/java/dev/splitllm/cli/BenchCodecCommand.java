package dev.splitllm.cli;

import dev.splitllm.tools.bench.CodecBenchmark;
import dev.splitllm.quantization.codec.CodecSpec;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code splitllm bench codec}: activation codec throughput and bits per element, one core. */
@Command(name = "codec", mixinStandardHelpOptions = true,
        description = {"Activation codec speed on one core: encode, decode and round-trip GB/s of fp32 activations, bits per",
                "element (side information included) and relative MSE, on synthetic rows with a few outlier channels.",
                "Without --codec, runs the default grid (fp16, q8_0, uniform 4-bit, TAB-Q variants) for T in {1, 64, 256}",
                "and d in {288, 2048}."},
        footer = {"", "Example:", "  ./splitllm bench codec", "  ./splitllm bench codec --codec tabq:eps=1e-3,tau=6 --tokens 64 --dim 2048"})
public final class BenchCodecCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--codec", paramLabel = "SPEC", description = "One codec to measure (default: the whole grid).")
    String codec;

    @Option(names = "--tokens", defaultValue = "64", description = "T with --codec (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--dim", defaultValue = "2048", description = "d with --codec (default: ${DEFAULT-VALUE}).")
    int dim;

    @Option(names = "--seconds", defaultValue = "0.3", description = "Measuring time per configuration (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Override
    public Integer call() {
        if (!(seconds > 0 && seconds <= 60)) throw new ParameterException(spec.commandLine(), "--seconds must be in (0, 60]");
        PrintWriter out = spec.commandLine().getOut();
        out.println("single thread; GB/s of fp32 activations (fastest of 10 windows); JDK " + Runtime.version());
        out.println(CodecBenchmark.Result.header());
        List<CodecBenchmark.Result> results;
        if (codec == null) {
            results = CodecBenchmark.runDefaultGrid(seconds);
        } else {
            if (tokens < 1 || tokens > 4096 || dim < 1 || dim > 16384) {
                throw new ParameterException(spec.commandLine(), "--tokens must be in 1..4096 and --dim in 1..16384");
            }
            CodecSpec s;
            try {
                s = CodecSpec.parse(codec);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--codec: " + e.getMessage());
            }
            results = List.of(CodecBenchmark.run(s, tokens, dim, seconds));
        }
        for (CodecBenchmark.Result r : results) {
            out.println(r.line());
        }
        out.println(CodecBenchmark.StageResult.header());
        for (int d : codec == null ? new int[] {288, 2048} : new int[] {dim}) {
            for (CodecBenchmark.StageResult r : CodecBenchmark.runStages(d, seconds)) {
                out.println(r.line());
            }
        }
        return 0;
    }
}
