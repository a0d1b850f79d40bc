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

    @Option(names = "--out", description = "Output JSON file (required unless --codec-tables).")
    Path out;

    @Option(names = "--codec-tables", arity = "0..1", fallbackValue = dev.splitllm.eval.EvalHarness.DEFAULT_CODEC, paramLabel = "TEMPLATE",
            description = {"Instead: calibrate codec tables (mean, rANS) for a mean/ans codec template at each split (--splits)",
                    "on the model's own continuations of the story openings, write them to the cache folder (codec-tables/HASH.tables;",
                    "copy the file to the other side) and print the bound codec spec per split (default template: ${FALLBACK-VALUE})."})
    String codecTables;

    @Option(names = "--codecs", split = ";", defaultValue = "fp16;q8_0;uniform:bits=4;tabq:eps=3e-3;" + SplitOptions.DEFAULT_CODEC,
            description = "Codec settings, ';'-separated (default: ${DEFAULT-VALUE}).")
    List<String> codecs;

    @Option(names = "--splits", split = ",", description = "Split layers to measure (default: every one).")
    List<Integer> splits = List.of();

    @Option(names = "--weight-formats", split = ",", defaultValue = "q8_0,q4_0", description = "Weight formats to rate (default: ${DEFAULT-VALUE}).")
    List<String> weightFormats;

    @Option(names = "--text", description = "Calibration text file (UTF-8; default: a short built-in story).")
    Path text;

    private static String readText(Path file) {
        if (!Files.exists(file)) {
            throw new CliFailure("cannot read calibration text " + file + ": no such file; give a UTF-8 text file, or leave out --text"
                    + " to use the built-in story");
        }
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new CliFailure("cannot read calibration text " + file + ": not UTF-8 text; convert it (iconv -t UTF-8) or pick another file", e);
        } catch (IOException e) {
            throw new CliFailure("cannot read calibration text " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Integer call() throws IOException {
        if (codecTables != null) {
            return writeCodecTables();
        }
        if (out == null) {
            throw new ParameterException(spec.commandLine(), "--out is required (or use --codec-tables)");
        }
        ModelLoader.ModelPaths paths = ModelLoader.resolve(shared, System.err);
        String t = text == null ? DEFAULT_TEXT : readText(text);
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

    /** {@code --codec-tables}: bind the template at each split, save the tables, print the specs. */
    private int writeCodecTables() throws IOException {
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        int layers = m.weights().config().nLayers();
        List<Integer> at = splits.isEmpty() ? java.util.stream.IntStream.range(1, layers).boxed().toList() : splits;
        PrintWriter o = spec.commandLine().getOut();
        Path dir = dev.splitllm.quantization.codec.CodecTables.cacheFolder();
        if (dir == null) {
            throw new CliFailure("no cache folder (set -Dsplitllm.cache)");
        }
        try (dev.splitllm.engine.kernels.ThreadTeam team = new dev.splitllm.engine.kernels.ThreadTeam(shared.threads())) {
            dev.splitllm.engine.forward.Transformer tf = new dev.splitllm.engine.forward.Transformer(m.weights(),
                    dev.splitllm.engine.kernels.KernelProvider.best(), team);
            for (int split : at) {
                if (split < 1 || split >= layers) {
                    throw new ParameterException(spec.commandLine(), "--splits: each must be in 1.." + (layers - 1));
                }
                dev.splitllm.quantization.codec.CodecSpec bound;
                try {
                    bound = dev.splitllm.eval.CodecCalibration.bind(tf, m.tokenizer(), split, codecTables);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(spec.commandLine(), "--codec-tables: " + e.getMessage());
                }
                if (bound.needsTables()) {
                    Path file = dev.splitllm.quantization.codec.CodecTables.find(bound.tablesHash()).save(dir);
                    o.println("split " + split + ": --codec " + bound + "   (tables " + file + ")");
                } else {
                    o.println("split " + split + ": --codec " + bound + "   (needs no tables)");
                }
            }
        }
        return 0;
    }
}
