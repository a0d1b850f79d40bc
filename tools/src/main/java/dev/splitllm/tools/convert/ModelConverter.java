package dev.splitllm.tools.convert;

import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Converts and quantizes models: any input {@link ModelFiles} recognises (llama2.c, GGUF,
 * Hugging Face safetensors) to GGUF (f32, f16, bf16, q8_0, q4_0; via {@link GgufModelWriter})
 * or to a Hugging Face directory (f32, f16, bf16; via {@link HfDirectoryWriter}). Blocks are
 * read and converted one at a time. The entry points for the {@code convert} CLI command.
 */
public final class ModelConverter {
    private ModelConverter() {}

    /**
     * Converts {@code in} to {@code out}.
     *
     * @param type   weight type of the output matrices
     * @param format GGUF (out is a file) or SAFETENSORS (out is a directory, created if needed)
     */
    public static void convert(Path in, Path out, WeightFormat type, OutputFormat format) throws IOException {
        if (in.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("input and output are the same path: " + in);
        }
        if (format == OutputFormat.GGUF && Files.isDirectory(out)) {
            throw new IllegalArgumentException(out + " is a directory; GGUF output needs a file name");
        }
        if (format == OutputFormat.SAFETENSORS && Files.exists(out) && !Files.isDirectory(out)) {
            throw new IllegalArgumentException(out + " is a file; safetensors output needs a directory");
        }
        try (ModelSource src = ModelFiles.open(in)) {
            if (format == OutputFormat.GGUF) {
                GgufModelWriter.write(src, out, type);
            } else {
                HfDirectoryWriter.write(src, out, type);
            }
        }
    }

    /** Converts with string options as the CLI takes them: type "f32|f16|bf16|q8_0|q4_0", format "gguf|safetensors". */
    public static void convert(Path in, Path out, String type, String format) throws IOException {
        convert(in, out, WeightFormat.parse(type), OutputFormat.parse(format));
    }

    /** {@code in} to a GGUF file. */
    public static void toGguf(Path in, Path out, WeightFormat type) throws IOException {
        convert(in, out, type, OutputFormat.GGUF);
    }

    /** {@code in} to a Hugging Face directory. */
    public static void toSafetensors(Path in, Path outDir, WeightFormat dtype) throws IOException {
        convert(in, outDir, dtype, OutputFormat.SAFETENSORS);
    }
}
