package dev.splitllm.cli;

import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.fetch.FetchListener;
import dev.splitllm.fetch.ModelFetcher;
import dev.splitllm.tools.convert.ModelConverter;
import dev.splitllm.tools.convert.SyntheticArchitectures;
import dev.splitllm.tools.convert.SyntheticLlama;
import dev.splitllm.quantization.weights.WeightFormat;
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
                "  ./splitllm convert --in stories15M-q8_0.gguf --out stories15M-hf --format safetensors --type f32",
                "  ./splitllm convert --synthetic-arch qwen2 --out qwen2-synthetic.gguf",
                "  ./splitllm convert --synthetic llama-3.2-1b --type q8_0 --out /tmp/llama-3.2-1b-q8_0.gguf"})
public final class ConvertCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--in", paramLabel = "MODEL", description = "Input model file or Hugging Face directory.")
    Path in;

    @Option(names = "--synthetic-arch", paramLabel = "llama2|llama3|qwen2|mistral",
            description = {"Instead of --in: write a small random-weight test model of this architecture variant",
                    "(F32, real tokenizer with special tokens and chat template; see docs/ARCHITECTURES.md)."})
    String syntheticArch;

    @Option(names = "--synthetic", paramLabel = "llama-3.2-1b",
            description = {"Instead of --in: write a random-weight model of this real model's exact shape (N(0, 0.02) matrices,",
                    "norms 1.0, fixed seed, minimal byte-level tokenizer) at --type, streamed to disk; for memory and",
                    "bandwidth figures (bench engine), it does not speak."})
    String synthetic;

    @Option(names = "--out", required = true, paramLabel = "PATH", description = "Output GGUF file, or directory for --format safetensors.")
    Path out;

    @Option(names = "--type", defaultValue = "f32", paramLabel = "TYPE",
            description = "Weight type: f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k (k-quants: rows not a multiple of 256 are written q8_0; safetensors: f32, f16, bf16) (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--format", defaultValue = "gguf", paramLabel = "gguf|safetensors", description = "Output format (default: ${DEFAULT-VALUE}).")
    String format;

    @Override
    public Integer call() {
        if ((in != null ? 1 : 0) + (syntheticArch != null ? 1 : 0) + (synthetic != null ? 1 : 0) != 1) {
            throw new ParameterException(spec.commandLine(), "give exactly one of --in, --synthetic-arch and --synthetic");
        }
        if (synthetic != null) {
            return syntheticShape();
        }
        if (syntheticArch != null) {
            return synthetic();
        }
        if (!Files.exists(in)) {
            throw new CliFailure("input not found: " + in);
        }
        PrintWriter out2 = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        try {
            ModelConverter.convert(in, out, type, format);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        } catch (java.nio.file.NoSuchFileException e) {
            Path dir = out.toAbsolutePath().getParent();
            throw new CliFailure(dir != null && !Files.isDirectory(dir)
                    ? "cannot write " + out + ": folder " + dir + " does not exist; create it (mkdir -p " + dir + ") or pick another --out"
                    : "conversion failed: no such file: " + e.getFile(), e);
        } catch (IOException e) {
            throw new CliFailure("conversion failed: " + e.getMessage(), e);
        }
        out2.printf(Locale.ROOT, "wrote %s (%s, %s) in %.1f s%n", out, format, type, (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    private int synthetic() {
        if (!SyntheticArchitectures.NAMES.contains(syntheticArch)) {
            throw new ParameterException(spec.commandLine(), "--synthetic-arch must be one of " + SyntheticArchitectures.NAMES);
        }
        long t0 = System.nanoTime();
        try {
            // The SentencePiece vocabulary (and BPE training corpus) is the built-in model's tokenizer.
            Path dir = ModelFetcher.ensureStories15M(FetchListener.NONE);
            SyntheticArchitectures.write(syntheticArch, Llama2Tokenizer.load(dir.resolve("tokenizer.bin"), 32000), out);
        } catch (IOException e) {
            throw new CliFailure("writing the synthetic model failed: " + e.getMessage(), e);
        }
        spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s (synthetic %s, f32) in %.1f s%n", out, syntheticArch,
                (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    /** {@code --synthetic NAME}: a real model's shape with random weights, streamed to a GGUF file. */
    private int syntheticShape() {
        SyntheticLlama.Shape shape;
        WeightFormat wf;
        try {
            shape = SyntheticLlama.shape(synthetic);
            wf = WeightFormat.parse(type);
            if (!"gguf".equalsIgnoreCase(format)) throw new IllegalArgumentException("--synthetic writes GGUF only (--format gguf)");
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        long t0 = System.nanoTime();
        long size;
        try {
            size = SyntheticLlama.write(shape, wf, SyntheticLlama.DEFAULT_SEED, out);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        } catch (IOException e) {
            throw new CliFailure("writing the synthetic model failed: " + e.getMessage(), e);
        }
        spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s (synthetic %s, %s, %,d parameters, %.1f MB) in %.1f s%n", out,
                shape.name(), wf.id(), shape.parameters(), size / 1e6, (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
