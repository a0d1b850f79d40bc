package dev.splitllm.cli;

import dev.splitllm.engine.draft.DraftHead;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.eval.DraftHeadFitter;
import dev.splitllm.eval.ResidualCapture;
import dev.splitllm.optimizer.Calibrator;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
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
                "-> a calibration table (JSON).",
                "With --draft-head: instead fit the exit-head drafter's adapter for each split layer (--splits) by least squares",
                "and write it (.xhead) for the edge's speculative decoding."},
        footer = {"", "Example:", "  ./splitllm calibrate --out calibration.json",
                "  ./splitllm calibrate --codecs \"fp16;q8_0;tabq:eps=1e-3;tabq:eps=3e-3\" --text my-text.txt --out k.json",
                "  ./splitllm calibrate --draft-head --splits 3"})
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

    @Option(names = "--out", description = {"Output JSON file (required unless --codec-tables or --draft-head); with --draft-head, the",
            "head file for the one split named by --splits (default: draft-heads/MODEL-lSPLIT.xhead in the cache folder)."})
    Path out;

    @Option(names = "--draft-head", description = {"Instead: fit the exit-head drafter at each split (--splits; default every one): an affine",
            "map from the residual stream at the cut to the one before the final norm, least squares on the model's own",
            "continuations of " + DraftHeadFitter.DEFAULT_FIT_STORIES + " story openings (or on --text), write it and print, last,",
            "'draft-head: split=L file=PATH agreement=A raw=R positions=N': top-1 agreement with the full model of the",
            "fitted head (A) and of the raw exit (R) over N held-out positions (" + DraftHeadFitter.DEFAULT_HELD_OUT_STORIES
                    + " other stories, or the last tenth of --text)."})
    boolean draftHead;

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
        if (draftHead) {
            if (codecTables != null) {
                throw new ParameterException(spec.commandLine(), "--draft-head and --codec-tables are separate runs; give one of them");
            }
            return writeDraftHeads();
        }
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

    /** Most tokens of a --text file that --draft-head fits on (about a minute on two cores with stories15M). */
    static final int DRAFT_TEXT_TOKENS = 1 << 15;

    /** {@code --draft-head}: fit the exit-head adapter at each split, write it, print the agreement it reaches. */
    private int writeDraftHeads() throws IOException {
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        int layers = m.weights().config().nLayers();
        List<Integer> at = splits.isEmpty() ? java.util.stream.IntStream.range(1, layers).boxed().toList() : splits;
        for (int split : at) {
            if (split < 1 || split >= layers) {
                throw new ParameterException(spec.commandLine(), "--splits: each must be in 1.." + (layers - 1));
            }
        }
        if (out != null && at.size() != 1) {
            throw new ParameterException(spec.commandLine(), "--out names one head file: give one split (--splits N), or leave out --out"
                    + " to write every split's head to the cache folder");
        }
        if (out == null && dev.splitllm.quantization.codec.CodecTables.cacheFolder() == null) {
            throw new CliFailure("no cache folder (set -Dsplitllm.cache, or give --out FILE)");
        }
        fitDraftHeads(m, at, out, text == null ? null : readText(text), text == null ? null : text.getFileName().toString(),
                shared.threads(), spec.commandLine().getOut());
        return 0;
    }

    /**
     * Fits the exit-head adapter of each split in {@code at} (see {@link DraftHeadFitter}) on
     * {@code text} (or, when null, the model's own story continuations), writes each to {@code out}
     * (one split) or the cache's default file, and prints one {@code draft-head: ...} line per split
     * to {@code o}; progress goes to stderr.
     */
    static void fitDraftHeads(ModelLoader.Loaded m, List<Integer> at, Path out, String text, String textName, int threads, PrintWriter o) {
        int layers = m.weights().config().nLayers();
        java.io.PrintStream progress = System.err;
        try (ThreadTeam team = new ThreadTeam(threads)) {
            Transformer tf = new Transformer(m.weights(), KernelProvider.best(), team);
            DraftHeadFitter.Texts texts;
            try {
                texts = text == null
                        ? DraftHeadFitter.selfGenerated(tf, m.tokenizer(), DraftHeadFitter.DEFAULT_FIT_STORIES,
                                DraftHeadFitter.DEFAULT_HELD_OUT_STORIES, line -> progress.println("draft-head: " + line))
                        : DraftHeadFitter.fromText(m.tokenizer(), text, DRAFT_TEXT_TOKENS, textName);
            } catch (IllegalArgumentException e) {
                throw new CliFailure("--draft-head: " + e.getMessage(), e);
            }
            progress.println("draft-head: calibration text: " + texts.description);
            List<DraftHeadFitter> fitters = new ArrayList<>();
            for (int split : at) {
                fitters.add(new DraftHeadFitter(tf, split));
            }
            long started = System.nanoTime(), reported = started;
            for (int i = 0; i < texts.fit.size(); i++) {
                int[] window = texts.fit.get(i);
                float[][] h = ResidualCapture.afterEachBlock(tf, window); // one pass serves every split
                for (DraftHeadFitter f : fitters) {
                    f.add(h[f.split()], h[layers], window.length);
                }
                long now = System.nanoTime();
                if (now - reported > 5_000_000_000L || i == texts.fit.size() - 1) {
                    reported = now;
                    progress.printf(Locale.ROOT, "draft-head: fitted %d of %d windows (%d positions, %.0f s)%n", i + 1, texts.fit.size(),
                            fitters.get(0).positions(), (now - started) / 1e9);
                }
            }
            List<DraftHead> heads = new ArrayList<>();
            for (DraftHeadFitter f : fitters) {
                try {
                    heads.add(f.solve(DraftHeadFitter.DEFAULT_RIDGE));
                } catch (IllegalStateException e) {
                    throw new CliFailure("--draft-head: split " + f.split() + ": " + e.getMessage(), e);
                }
            }
            progress.println("draft-head: measuring agreement on " + texts.heldOut.size() + " held-out windows");
            List<DraftHeadFitter.Agreement> agreements = DraftHeadFitter.agreement(tf, heads, texts.heldOut);
            for (int i = 0; i < heads.size(); i++) {
                DraftHead head = heads.get(i);
                Path file = out != null ? out : DraftOptions.defaultHeadFile(m.modelFile(), head.splitLayer());
                try {
                    head.write(file);
                } catch (IOException e) {
                    throw new CliFailure("cannot write the draft head " + file + ": " + e.getMessage(), e);
                }
                DraftHeadFitter.Agreement a = agreements.get(i);
                o.printf(Locale.ROOT, "draft-head: split=%d file=%s agreement=%.3f raw=%.3f positions=%d%n", head.splitLayer(), file,
                        a.exit, a.raw, a.positions);
            }
        }
    }

    /** The model's file name without its extension (a Hugging Face folder: the folder's name), for the head's file name. */
    static String modelName(Path model) {
        Path name = model.toAbsolutePath().normalize().getFileName();
        String s = name == null ? "model" : name.toString();
        int dot = s.lastIndexOf('.');
        return dot > 0 && !Files.isDirectory(model) ? s.substring(0, dot) : s;
    }
}
