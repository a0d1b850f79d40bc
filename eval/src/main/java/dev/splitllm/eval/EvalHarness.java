package dev.splitllm.eval;

import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CodecTables;
import dev.splitllm.quantization.wire.FrameCodec;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The evaluation run behind {@code ./splitllm eval}: loads the model (any format, through
 * {@link ModelFiles}; stories15M by default) and the texts, calibrates
 * the TS thresholds and the baselines on Emma, then measures every configuration (split layer x
 * OPSC weight precisions x wire) against the unsplit fp32 model with {@link SplitEvaluator}:
 * perplexity on fixed slices of Pride and Prejudice and KJV Genesis, top-1 agreement, KL and
 * greedy prefix on the fixed prompt set, bits per element of every frame (each text window is a
 * measured sequence whose prompt is the whole window; each prompt is followed by its greedy
 * fp32 continuation, one decode frame per token); plus the codec-only
 * bits study at every split layer 1..L-1. Entry points take plain parameters.
 */
public final class EvalHarness {
    /** The default codec's TAB-Q budget; its tau is the calibrated 99.9th percentile. */
    public static final double DEFAULT_EPS = 1e-3;
    /**
     * The default codec (issue 19), chosen from the split-3 frontier: calibrated mean removed,
     * Hadamard rotation, a per-token step from the budget, rANS with static calibrated tables;
     * tau (99.9th percentile) and the tables are bound per model and split layer
     * ({@link CodecCalibration#bind}, or the harness's own calibration).
     */
    public static final String DEFAULT_CODEC = "tabq:eps=8e-5,mean,rot,step,ans";

    /** Every bit-width 2..8, a finer TAB-Q bit set than the default {2,3,4,6,8}. */
    public static final int FULL_BIT_SET = CodecSpec.maskOf(2, 3, 4, 5, 6, 7, 8);

    private EvalHarness() {}

    /** Runs {@code options} without progress reports. */
    public static EvalReport run(EvalOptions options) throws IOException {
        return run(options, EvalListener.NONE);
    }

    /** Runs {@code options}, reporting progress to {@code listener}. */
    public static EvalReport run(EvalOptions options, EvalListener listener) throws IOException {
        long t0 = System.nanoTime();
        ModelWeights fp32;
        Tokenizer tok;
        try (ModelSource src = ModelFiles.open(options.model())) {
            // The reference is the unsplit model at F32 (a no-op for F32 files).
            fp32 = ModelQuantizer.apply(src.load(ModelSlice.all(src.config().nLayers())), PrecisionPlan.uniform(WeightFormat.F32));
            tok = options.tokenizer() != null ? Llama2Tokenizer.load(options.tokenizer(), src.config().vocabSize()) : src.tokenizer();
        }
        if (tok == null) {
            throw new IOException(options.model() + " carries no tokenizer; name one (a llama2.c tokenizer.bin)");
        }
        int layers = fp32.config().nLayers();
        for (int s : options.splits()) {
            if (s < 1 || s >= layers) {
                throw new IllegalArgumentException("split layer must be in 1.." + (layers - 1) + ", got " + s);
            }
        }
        try (ThreadTeam team = new ThreadTeam(options.threads())) {
            return run(options, fp32, tok, team, EvalTexts.inUserCache(), listener, t0);
        }
    }

    /** The same with everything supplied (tests share one model). */
    public static EvalReport run(EvalOptions o, ModelWeights fp32, Tokenizer tok, ThreadTeam team, EvalTexts texts,
                                 EvalListener listener, long startNanos) throws IOException {
        Kernels kernels = KernelProvider.best();
        Transformer reference = new Transformer(fp32, kernels, team);
        SplitEvaluator ev = new SplitEvaluator(reference, tok.eos());
        int bos = tok.bos();
        int layers = fp32.config().nLayers();
        List<String> notes = new ArrayList<>();

        listener.progress("texts", 0, 3);
        List<int[]> pp = o.pplTokens() == 0 ? List.of() : TextWindows.windows(TextWindows.stream(tok,
                TextWindows.paragraphs(texts.austen(EvalTexts.Novel.PRIDE_AND_PREJUDICE)), o.pplTokens()), bos);
        listener.progress("texts", 1, 3);
        List<int[]> kjv = o.kjvTokens() == 0 ? List.of() : TextWindows.windows(TextWindows.stream(tok,
                texts.kjvBook("Ge"), o.kjvTokens()), bos);
        listener.progress("texts", 2, 3);
        List<int[]> calib = TextWindows.windows(TextWindows.stream(tok,
                TextWindows.paragraphs(texts.austen(EvalTexts.Novel.EMMA)), o.calibTokens()), bos);
        List<String> promptText = PromptSet.prompts(texts.austen(EvalTexts.Novel.SENSE_AND_SENSIBILITY), o.prompts());
        listener.progress("texts", 3, 3);

        Calibration cal = Calibration.collect(fp32, kernels, team, calib);
        listener.progress("calibration", 1, 1);
        Map<Integer, float[]> taus = new LinkedHashMap<>();
        for (int s : o.splits()) {
            float[] t = new float[o.percentiles().size()];
            for (int i = 0; i < t.length; i++) {
                t[i] = cal.tau().tau(s, o.percentiles().get(i));
            }
            taus.put(s, t);
        }

        // Configurations, grouped by model variant and split so the edge output is reused.
        ModelVariant base = new ModelVariant("f32", reference);
        List<Entry> configs = new ArrayList<>();
        for (int s : o.splits()) {
            float tauDefault = cal.tau().tau(s, TauCalibrator.DEFAULT_PERCENTILE);
            configs.add(codec(s, base, "lossless", CodecSpec.fp32()));
            configs.add(codec(s, base, "fp16", CodecSpec.fp16()));
            configs.add(codec(s, base, "q8_0", CodecSpec.q8_0()));
            for (int b : o.uniformBits()) {
                configs.add(codec(s, base, "uniform (no TS)", CodecSpec.uniform(b)).sweep(o.sweepPpl()));
            }
            // The sweep: TS at the first percentile, every budget, default bit set.
            for (double e : o.epsilons()) {
                Entry en = codec(s, base, "TS+TAB-Q p" + o.percentiles().get(0),
                        CodecSpec.tabq((float) e, CodecSpec.DEFAULT_BIT_MASK, taus.get(s)[0]));
                configs.add(e == DEFAULT_EPS ? en : en.sweep(o.sweepPpl()));
            }
            CodecSpec def = CodecSpec.tabq((float) DEFAULT_EPS, CodecSpec.DEFAULT_BIT_MASK, tauDefault);
            configs.add(codec(s, base, "TS+TAB-Q +zstd", def.withZstd()));
            // Hadamard rotation at the tighter budgets (where the rotation pays off most).
            for (double e : o.epsilons()) {
                if (e <= DEFAULT_EPS) {
                    Entry en = codec(s, base, "TS+TAB-Q +rot",
                            CodecSpec.tabq((float) e, CodecSpec.DEFAULT_BIT_MASK, tauDefault).withRotation(CodecSpec.DEFAULT_ROTATION_SEED));
                    configs.add(e == DEFAULT_EPS ? en.sweep(o.sweepPpl()) : en);
                }
            }
            // The stage sweep: mean, rotation, group-wise scales, rANS, alone and together, every budget.
            for (String st : o.stageSets()) {
                for (double e : o.stageEps()) {
                    CodecSpec template = CodecSpec.parse("tabq:eps=" + (float) e + ",tau=" + taus.get(s)[0] + "," + st);
                    configs.add(stage(s, base, template, cal, fp32.config().dim()).sweep(o.sweepPpl()));
                }
            }
            if (o.extras()) {
                // Other percentiles at the default budget, the full bit set 2..8, rotation.
                for (int pi = 1; pi < o.percentiles().size(); pi++) {
                    configs.add(codec(s, base, "TS+TAB-Q other tau", CodecSpec.tabq((float) DEFAULT_EPS, CodecSpec.DEFAULT_BIT_MASK, taus.get(s)[pi])).sweep(o.sweepPpl()));
                }
                for (double e : List.of(DEFAULT_EPS, 3e-4)) {
                    configs.add(codec(s, base, "TS+TAB-Q bits 2..8", CodecSpec.tabq((float) e, FULL_BIT_SET, tauDefault)).sweep(o.sweepPpl()));
                }
                configs.add(codec(s, base, "TS+TAB-Q +rot bits 2..8",
                        CodecSpec.tabq(3e-4f, FULL_BIT_SET, tauDefault).withRotation(CodecSpec.DEFAULT_ROTATION_SEED)).sweep(o.sweepPpl()));
                configs.add(codec(s, base, "TS+TAB-Q +rot +zstd",
                        CodecSpec.tabq(3e-4f, CodecSpec.DEFAULT_BIT_MASK, tauDefault).withRotation(CodecSpec.DEFAULT_ROTATION_SEED).withZstd()).sweep(o.sweepPpl()));
            }
        }
        if (o.extras()) {
            for (int s : o.splits()) {
                CodecSpec def = CodecSpec.tabq((float) DEFAULT_EPS, CodecSpec.DEFAULT_BIT_MASK, cal.tau().tau(s, TauCalibrator.DEFAULT_PERCENTILE)).withZstd();
                for (WeightFormat edge : List.of(WeightFormat.Q8_0, WeightFormat.Q4_0)) {
                    PrecisionPlan plan = new PrecisionPlan(s, edge, WeightFormat.F32, WeightFormat.F32, WeightFormat.F32);
                    ModelVariant v = new ModelVariant("edge " + edge.id() + " / cloud f32",
                            new Transformer(ModelQuantizer.apply(fp32, plan), kernels, team));
                    configs.add(new Entry("OPSC + TS+TAB-Q +zstd", new SplitConfig(s, v, new CodecWire(def))));
                }
            }
            Baseline sq = SmoothQuantBaseline.build(fp32, cal, SmoothQuantBaseline.DEFAULT_ALPHA, kernels, team);
            Baseline atom = AtomBaseline.build(fp32, cal, AtomBaseline.DEFAULT_OUTLIERS, AtomBaseline.DEFAULT_GROUP, kernels, team);
            for (int s : o.splits()) {
                configs.add(new Entry("SmoothQuant W8A8", sq.at(s)));
                configs.add(new Entry("Atom W4A4", atom.at(s)));
            }
            notes.add("Baselines: " + sq.description() + ". " + atom.description() + ".");
        }
        listener.progress("configurations", configs.size(), configs.size());

        // Every figure comes from SplitEvaluator.measure: text windows (prompt = the whole window) for
        // perplexity, prompts with their greedy fp32 continuation for agreement, KL and prefix.
        PerplexityStats refPp = new PerplexityStats(), refKjv = new PerplexityStats();
        long withPpl = configs.stream().filter(Entry::ppl).count();
        long units = pp.size() + kjv.size() + (long) o.prompts() + (long) (pp.size() + kjv.size()) * withPpl
                + (long) o.prompts() * configs.size();
        long[] done = {0};
        int n = configs.size();
        QualityStats[] ppS = new QualityStats[n], kjvS = new QualityStats[n], q = new QualityStats[n];
        BitsTally[] tally = new BitsTally[n];
        for (int i = 0; i < n; i++) {
            ppS[i] = new QualityStats();
            kjvS[i] = new QualityStats();
            q[i] = new QualityStats();
            tally[i] = new BitsTally();
        }
        for (List<int[]> text : List.of(pp, kjv)) {
            PerplexityStats fp32Stats = text == pp ? refPp : refKjv;
            QualityStats[] stats = text == pp ? ppS : kjvS;
            for (int[] w : text) {
                Reference ref = ev.text(w, w.length);
                ev.perplexity(ref, fp32Stats);
                listener.progress("evaluate", ++done[0], units);
                for (int i = 0; i < n; i++) {
                    if (!configs.get(i).ppl) {
                        continue;
                    }
                    ev.measure(configs.get(i).config, ref, stats[i], tally[i]);
                    listener.progress("evaluate", ++done[0], units);
                }
            }
        }
        for (String text : promptText) {
            Reference ref = ev.reference(tok.encode(text, true), o.generated());
            listener.progress("evaluate", ++done[0], units);
            for (int i = 0; i < n; i++) {
                ev.measure(configs.get(i).config, ref, q[i], tally[i]);
                listener.progress("evaluate", ++done[0], units);
            }
        }
        List<EvalReport.Row> rows = new ArrayList<>();
        double basePpl = refPp.perplexity(), baseKjv = refKjv.perplexity();
        for (int i = 0; i < n; i++) {
            SplitConfig c = configs.get(i).config;
            rows.add(new EvalReport.Row(c.split(), configs.get(i).family, c.variant().name(), c.wire().name(),
                    tally[i].prefillBitsPerElement(), tally[i].decodeBitsPerElement(), q[i].agreement(), q[i].meanKl(),
                    q[i].meanPrefix(), ppS[i].split().perplexity(), ppS[i].split().perplexity() - basePpl,
                    kjvS[i].split().perplexity(), kjvS[i].split().perplexity() - baseKjv,
                    tally[i].prefillBitsPerElementWithFrames(PREFILL_FRAME_BYTES),
                    tally[i].decodeBitsPerElementWithFrames(DECODE_FRAME_BYTES)));
        }
        List<EvalReport.BitsRow> bits = bitsStudy(reference, cal, pp.isEmpty() ? calib : pp, o, layers, listener);
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        EvalReport report = new EvalReport(o, basePpl, baseKjv, rows, bits, taus, notes, seconds);
        report.setPositions(q.length == 0 ? 0 : q[0].positions());
        return report;
    }

    /**
     * Frame bytes besides the payload, as the runtime sends them (compact frames, whatever the
     * codec): a decode frame at a step and position in 128..16,383 takes 17, a prefill frame of
     * 128..16,383 tokens 16 (docs/WIRE.md §11). The same for every wire, Q8_0 included.
     */
    static final int DECODE_FRAME_BYTES = FrameCodec.compactOverheadBytes(1000, 3, 1000, 1, -1);
    static final int PREFILL_FRAME_BYTES = FrameCodec.compactOverheadBytes(0, 3, 0, 1000, -1);

    /** Codec-only bits per element at every split layer 1..L-1 for the TAB-Q budgets, prefill and decode, with and without zstd. */
    static List<EvalReport.BitsRow> bitsStudy(Transformer tf, Calibration cal, List<int[]> windows, EvalOptions o, int layers,
                                               EvalListener listener) {
        List<int[]> use = windows.subList(0, Math.min(o.bitsWindows(), windows.size()));
        List<float[][]> hidden = new ArrayList<>();
        for (int[] w : use) {
            hidden.add(ResidualCapture.afterEachBlock(tf, w));
        }
        int d = tf.config().dim();
        List<EvalReport.BitsRow> out = new ArrayList<>();
        for (int s = 1; s < layers; s++) {
            float tau = cal.tau().tau(s, TauCalibrator.DEFAULT_PERCENTILE);
            List<CodecSpec> specs = new ArrayList<>();
            specs.add(CodecSpec.q8_0());
            for (double e : o.epsilons()) {
                CodecSpec spec = CodecSpec.tabq((float) e, CodecSpec.DEFAULT_BIT_MASK, tau);
                specs.add(spec);
                specs.add(spec.withZstd());
            }
            for (CodecSpec spec : specs) {
                BitsTally t = new BitsTally();
                for (int wi = 0; wi < use.size(); wi++) {
                    float[] h = hidden.get(wi)[s];
                    int tokens = use.get(wi).length;
                    // Codec only: the window as one prefill frame, then each of its rows again as a decode frame.
                    Wire.Session session = new CodecWire(spec).open(t);
                    session.transmit(h, tokens, d, true);
                    float[] row = new float[d];
                    for (int r = 0; r < tokens; r++) {
                        System.arraycopy(h, r * d, row, 0, d);
                        session.transmit(row, 1, d, false);
                    }
                }
                out.add(new EvalReport.BitsRow(s, spec.toString(), t.prefillBitsPerElement(), t.decodeBitsPerElement()));
            }
            listener.progress("bits study", s, layers - 1);
        }
        return out;
    }

    /** Writes RESULTS-style markdown and one KL chart per split layer into {@code dir}; returns the markdown path. */
    public static Path write(EvalReport report, Path dir, String command) throws IOException {
        Files.createDirectories(dir);
        StringBuilder md = new StringBuilder();
        md.append("Generated by `").append(command).append("`.\n\n");
        md.append(report.markdown());
        for (int s : report.options().splits()) {
            String name = String.format(Locale.ROOT, "kl-vs-bits-split%d.svg", s);
            Files.writeString(dir.resolve(name), report.klChart(s));
            md.append("\n![mean KL vs bits per element, split ").append(s).append("](").append(name).append(")\n");
        }
        Path out = dir.resolve("eval-results.md");
        Files.writeString(out, md.toString());
        return out;
    }

    /**
     * Interim command line until {@code ./splitllm eval} is wired: {@code [--quick|--full]
     * [--out DIR] [--threads N]}. Prints the markdown report; with {@code --out} also writes it
     * and the charts there.
     */
    public static void main(String[] args) throws IOException {
        EvalOptions o = EvalOptions.quick();
        Path out = null;
        int threads = 2;
        String mode = "--quick";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick": o = EvalOptions.quick(); mode = args[i]; break;
                case "--full": o = EvalOptions.full(); mode = args[i]; break;
                case "--headline": o = EvalOptions.headline(); mode = args[i]; break;
                case "--out":
                    if (i + 1 >= args.length) throw new IllegalArgumentException("--out needs a folder");
                    out = Path.of(args[++i]);
                    break;
                case "--threads":
                    if (i + 1 >= args.length) throw new IllegalArgumentException("--threads needs a number");
                    threads = Integer.parseInt(args[++i]);
                    break;
                default: throw new IllegalArgumentException("unknown argument " + args[i] + " (use --quick, --full, --out DIR, --threads N)");
            }
        }
        o = o.withThreads(threads);
        long[] last = {0};
        EvalReport r = run(o, (stage, done, total) -> {
            long now = System.nanoTime();
            if (done == total || now - last[0] > 5_000_000_000L) {
                last[0] = now;
                System.err.printf(Locale.ROOT, "%s %d/%d%n", stage, done, total);
            }
        });
        String command = "java -cp <engine+quantization classes> dev.splitllm.eval.EvalHarness " + mode
                + " --threads " + threads + (out == null ? "" : " --out " + out);
        if (out != null) {
            System.err.println("wrote " + write(r, out, command));
        }
        System.out.println(r.markdown());
        if (mode.equals("--headline")) {
            System.out.println(r.headline());
        }
    }

    /**
     * A stage-sweep configuration: a template that needs codec tables gets them calibrated on the
     * calibration text's hidden states at {@code split} (registered, so its spec string resolves).
     */
    static Entry stage(int split, ModelVariant v, CodecSpec template, Calibration cal, int dim) {
        String family = stageFamily(template);
        if (!template.needsTables()) {
            return codec(split, v, family, template);
        }
        CodecTables tables = CodecTables.register(CodecTables.calibrate(template, split, cal.hidden(split), cal.hiddenTokens(), dim));
        CodecSpec spec = template.withTables(tables.hash());
        return new Entry(family, new SplitConfig(split, v, new CodecWire(spec, tables)), true);
    }

    /** "stages: mean+rot+g32+ans" from the spec's stages (the chart's series). */
    static String stageFamily(CodecSpec spec) {
        StringBuilder sb = new StringBuilder("stages:");
        if (spec.mean()) sb.append(" mean");
        if (spec.rotation()) sb.append(" rot");
        if (spec.group() != 0) sb.append(" g").append(spec.group());
        if (spec.step()) sb.append(" step");
        if (spec.ans()) sb.append(" ans");
        if (!spec.step() && spec.bitMask() != CodecSpec.DEFAULT_BIT_MASK) sb.append(" (bits ").append(spec.minBits()).append("..").append(spec.maxBits()).append(')');
        return sb.toString();
    }

    private static Entry codec(int split, ModelVariant v, String family, CodecSpec spec) {
        return new Entry(family, new SplitConfig(split, v, new CodecWire(spec)), true);
    }

    /** A configuration, the family it is charted under, and whether its perplexity is measured. */
    private record Entry(String family, SplitConfig config, boolean ppl) {
        Entry(String family, SplitConfig config) {
            this(family, config, true);
        }

        Entry sweep(boolean allPpl) {
            return new Entry(family, config, allPpl);
        }
    }
}
