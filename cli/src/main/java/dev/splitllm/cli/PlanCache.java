package dev.splitllm.cli;

import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.fetch.ModelStore;
import dev.splitllm.optimizer.Calibrator;
import dev.splitllm.optimizer.Profiler;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.CodecTiming;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.FormatProfile;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.optimizer.profile.WeightQuality;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * This machine's device profile and the model's calibration table, made on first use by
 * {@code plan} and kept in the cache under {@code plan/<model sha256>-<machine>/}, so later plans
 * reuse them. The machine key covers what changes the timings: OS, CPU architecture, processor
 * count, JVM, kernels and thread count.
 */
final class PlanCache {
    /** Codecs timed and calibrated: the same defaults as {@code profile} and {@code calibrate}. */
    static final List<String> CODECS = List.of("fp16", "q8_0", "uniform:bits=4", "tabq:eps=3e-3", SplitOptions.DEFAULT_CODEC);

    final Path dir;
    private final ModelLoader.ModelPaths paths;
    private final int threads;

    private PlanCache(Path dir, ModelLoader.ModelPaths paths, int threads) {
        this.dir = dir;
        this.paths = paths;
        this.threads = threads;
    }

    static PlanCache forModel(ModelLoader.ModelPaths paths, int threads) throws IOException {
        String key = modelHash(paths.model()).substring(0, 16) + "-" + machineKey(threads);
        return new PlanCache(ModelStore.cacheDir().resolve("plan").resolve(key), paths, threads);
    }

    /** The cached profile of this machine, or a new one (measured now, one weight format at a time, with progress). */
    DeviceProfile deviceProfile(PrintWriter err) throws IOException {
        Path file = dir.resolve("device-profile.json");
        if (Files.isRegularFile(file)) {
            err.println("plan: this machine's profile, cached: " + file);
            return ProfileJson.readDevice(file);
        }
        err.println("plan: profiling this machine on " + paths.model().getFileName() + " (first use only; cached in " + dir + ")");
        Progress bar = new Progress(err, "plan: profiling", Profiler.FORMATS.size());
        List<FormatProfile> formats = new ArrayList<>();
        DeviceProfile first = null;
        for (WeightFormat f : Profiler.FORMATS) {
            // Codec timings do not depend on the weight format: measured once, with the first.
            DeviceProfile p = Profiler.run(paths.model(), "this machine", List.of(f), threads, 3, first == null ? CODECS : List.of());
            if (first == null) first = p;
            formats.addAll(p.formats());
            bar.step(f.id());
        }
        List<CodecTiming> codec = first.codec();
        DeviceProfile all = new DeviceProfile(first.schema(), first.name(), first.derived(), first.measuredOn(), first.model(), formats, codec);
        ProfileJson.write(file, all);
        bar.done(file);
        return all;
    }

    /** The cached calibration table of this model, or a new one (measured now, one split layer at a time, with progress). */
    CalibrationTable calibration(PrintWriter err) throws IOException {
        Path file = dir.resolve("calibration.json");
        if (Files.isRegularFile(file)) {
            err.println("plan: calibration, cached: " + file);
            return ProfileJson.readCalibration(file);
        }
        int[] tokens;
        int layers;
        try (ModelSource src = ModelFiles.open(paths.model())) {
            Tokenizer tok = ModelLoader.loadTokenizer(paths, src);
            tokens = tok.encode(CalibrateCommand.DEFAULT_TEXT, true);
            tokens = Arrays.copyOf(tokens, Math.min(tokens.length, src.config().seqLen()));
            layers = src.config().nLayers();
        }
        err.println("plan: calibrating " + CODECS.size() + " codecs at each of " + layers + " split layers (first use only; cached in "
                + dir + ")");
        Progress bar = new Progress(err, "plan: calibrating", layers);
        String text = "built-in story (" + tokens.length + " tokens)";
        List<CodecPoint> points = new ArrayList<>();
        CalibrationTable first = null;
        for (int l = 0; l < layers; l++) {
            // Whole-model weight quality does not depend on the split: rated once, with the first layer.
            CalibrationTable t = Calibrator.run(paths.model(), tokens, CODECS, List.of(l),
                    first == null ? List.of(WeightFormat.Q8_0, WeightFormat.Q4_0) : List.of(), threads, text);
            if (first == null) first = t;
            points.addAll(t.points());
            bar.step("split " + l);
        }
        List<WeightQuality> weights = first.weights();
        CalibrationTable all = new CalibrationTable(first.schema(), first.model(), first.derived(), first.source(),
                first.frameOverheadBytes(), points, weights);
        ProfileJson.write(file, all);
        bar.done(file);
        return all;
    }

    /** sha256 of the model file (of every file's name and content, for a Hugging Face directory). */
    static String modelHash(Path model) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        List<Path> files;
        if (Files.isDirectory(model)) {
            try (Stream<Path> s = Files.list(model)) {
                files = s.filter(Files::isRegularFile).sorted().toList();
            }
        } else {
            files = List.of(model);
        }
        byte[] buf = new byte[1 << 16];
        for (Path f : files) {
            md.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(f)) {
                for (int n = in.read(buf); n > 0; n = in.read(buf)) md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** A short key for what makes this machine's timings: OS, architecture, processors, JVM, kernels, threads. */
    static String machineKey(int threads) {
        String facts = String.join("|", System.getProperty("os.name"), System.getProperty("os.arch"),
                String.valueOf(Runtime.getRuntime().availableProcessors()), System.getProperty("java.vm.name"),
                System.getProperty("java.vm.version"), KernelProvider.best().name(), String.valueOf(threads));
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(facts.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A progress bar on stderr: redrawn in place on a terminal, one line per step otherwise (logs stay readable). */
    static final class Progress {
        private final PrintWriter err;
        private final String label;
        private final int total;
        private final long t0 = System.nanoTime();
        private final boolean terminal = System.console() != null;
        private int done;

        Progress(PrintWriter err, String label, int total) {
            this.err = err;
            this.label = label;
            this.total = total;
            draw("");
        }

        void step(String what) {
            done++;
            draw(what);
        }

        void done(Path file) {
            if (terminal) err.println();
            err.printf(Locale.ROOT, "%s: done in %.0f s -> %s%n", label, (System.nanoTime() - t0) / 1e9, file);
            err.flush();
        }

        private void draw(String what) {
            int width = 30, filled = total == 0 ? width : done * width / total;
            String line = String.format(Locale.ROOT, "%s [%s%s] %d/%d %3.0f s %s", label, "#".repeat(filled), ".".repeat(width - filled),
                    done, total, (System.nanoTime() - t0) / 1e9, what);
            if (terminal) err.print("\r" + line);
            else if (done > 0) err.println(line);
            err.flush();
        }
    }
}
