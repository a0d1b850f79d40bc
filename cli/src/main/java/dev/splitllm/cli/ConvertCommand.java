package dev.splitllm.cli;

import dev.splitllm.tools.convert.ModelConverter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code splitllm convert}: any supported model to GGUF or to a Hugging Face safetensors directory. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert a model (llama2.c .bin, GGUF, or a Hugging Face directory; the format is detected from the",
                "content) to a GGUF file or a safetensors directory, quantizing the weights on the way."},
        footer = {"", "Example:", "  ./splitllm convert --in ~/.cache/splitllm/stories15M/stories15M.bin --out stories15M-q8_0.gguf --type q8_0",
                "  ./splitllm convert --in stories15M-q8_0.gguf --out stories15M-hf --format safetensors --type f32"})
public final class ConvertCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--in", required = true, paramLabel = "MODEL", description = "Input model file or Hugging Face directory.")
    Path in;

    @Option(names = "--out", required = true, paramLabel = "PATH", description = "Output GGUF file, or directory for --format safetensors.")
    Path out;

    @Option(names = "--type", defaultValue = "f32", paramLabel = "TYPE",
            description = "Weight type: f32, f16, bf16, q8_0, q4_0 (safetensors: f32, f16, bf16) (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--format", defaultValue = "gguf", paramLabel = "gguf|safetensors", description = "Output format (default: ${DEFAULT-VALUE}).")
    String format;

    @Override
    public Integer call() {
        if (!Files.exists(in)) {
            throw new CliFailure("input not found: " + in);
        }
        PrintWriter out2 = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        try {
            ModelConverter.convert(in, out, type, format);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        } catch (IOException e) {
            throw new CliFailure("conversion failed: " + e.getMessage(), e);
        }
        out2.printf(Locale.ROOT, "wrote %s (%s, %s) in %.1f s%n", out, format, type, (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
