package dev.splitllm.cli;

import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.optimizer.Calibrator;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code splitllm calibrate}: payload and quality of each split layer and codec setting, through the real codec and
 * the eval meter, on any model format ({@code --model}; the tokenizer is the model's own unless {@code --tokenizer}).
 */
@Command(name = "calibrate", mixinStandardHelpOptions = true,
        description = {"For each split layer and codec setting, run calibration text through the edge blocks, the real codec and",
                "the cloud blocks, teacher-forced against the unsplit fp32 model (the first min(64, n/2) tokens as one prefill",
                "frame, every later token as a one-token decode frame, as ./splitllm eval measures): bits per element (prefill,",
                "decode), top-1 agreement, mean KL(fp32 || split), delta-PPL; plus the quality of each weight format",
                "-> a calibration table (JSON)."},
        footer = {"", "Example:", "  ./splitllm calibrate --out calibration.json",
                "  ./splitllm calibrate --codecs \"fp16;q8_0;tabq:eps=1e-3;tabq:eps=3e-3\" --text my-text.txt --out k.json"})
public final class CalibrateCommand implements Callable<Integer> {
    /** In-domain default calibration text for stories15M (written for this project). */
    static final String DEFAULT_TEXT = "Once upon a time, there was a little boy named Tom. He had a red kite that he loved very much. "
            + "Every day after school, Tom ran to the big hill near his house to fly his kite. One windy day, the kite flew so high "
            + "that it got stuck in a tall tree. Tom was sad and did not know what to do. His friend Mia saw him crying and said, "
            + "\"Don't worry, Tom! I will help you.\" Mia found a long stick and together they pulled the kite down. Tom smiled and "
            + "hugged Mia. \"Thank you, Mia! You are a good friend,\" he said. From that day on, Tom and Mia flew the kite together "
            + "and they were very happy.";

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--out", required = true, description = "Output JSON file.")
    Path out;

    @Option(names = "--codecs", split = ";", defaultValue = "fp16;q8_0;uniform:bits=4;tabq:eps=3e-3;" + SplitOptions.DEFAULT_CODEC,
            description = "Codec settings, ';'-separated (default: ${DEFAULT-VALUE}).")
    List<String> codecs;

    @Option(names = "--splits", split = ",", description = "Split layers to measure (default: every one).")
    List<Integer> splits = List.of();

    @Option(names = "--weight-formats", split = ",", defaultValue = "q8_0,q4_0", description = "Weight formats to rate (default: ${DEFAULT-VALUE}).")
    List<String> weightFormats;

    @Option(names = "--text", description = "Calibration text file (UTF-8; default: a short built-in story).")
    Path text;

    @Override
    public Integer call() throws IOException {
        ModelLoader.ModelPaths paths = ModelLoader.resolve(shared, System.err);
        String t = text == null ? DEFAULT_TEXT : Files.readString(text, StandardCharsets.UTF_8);
        int[] tokens;
        try (ModelSource src = ModelFiles.open(paths.model())) {
            Tokenizer tok = ModelLoader.loadTokenizer(paths, src);
            tokens = tok.encode(t, true);
            tokens = Arrays.copyOf(tokens, Math.min(tokens.length, src.config().seqLen()));
        }
        try {
            List<WeightFormat> wf = weightFormats.stream().map(WeightFormat::parse).toList();
            CalibrationTable table = Calibrator.run(paths.model(), tokens, codecs, splits, wf, shared.threads(),
                    text == null ? "built-in story (" + tokens.length + " tokens)" : text.getFileName() + " (" + tokens.length + " tokens)");
            ProfileJson.write(out, table);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter o = spec.commandLine().getOut();
        o.println("calibration table (" + codecs.size() + " codecs, " + tokens.length + " tokens) -> " + out);
        return 0;
    }
}
