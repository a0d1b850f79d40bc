package dev.splitllm.cli;

import dev.splitllm.edge.GenerationResult;
import dev.splitllm.edge.Speculation;
import dev.splitllm.engine.draft.DraftHead;
import dev.splitllm.engine.draft.DraftPolicy;
import dev.splitllm.engine.draft.Drafter;
import dev.splitllm.engine.draft.ExitHeadDrafter;
import dev.splitllm.engine.draft.ModelDrafter;
import dev.splitllm.engine.draft.NgramDrafter;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * {@code --draft} and {@code --draft-k}: speculation across the cut for edge, demo and bench link
 * (docs/PROTOCOL.md, "Speculation"). Opens the drafter the user named and prints the per-session
 * summary line.
 */
final class DraftOptions {
    @Option(names = "--draft", paramLabel = "DRAFTER",
            description = {"Speculate: the edge drafts tokens that the cloud verifies several per round trip (same tokens when greedy,",
                    "same distribution when sampling). none (default); ngram (lookup in the text so far, no memory);",
                    "model (this model again at q4_0) or model:PATH[@FORMAT] (any model file sharing the tokenizer, e.g. @q4_0);",
                    "exit-head (the cut's hidden state through a fitted adapter and the model's head: ./splitllm calibrate --draft-head).",
                    "Default: the --plan's drafter, else none."})
    String draft;

    @Option(names = "--draft-k", paramLabel = "K",
            description = "Drafted tokens per round trip: auto (adapts to the measured acceptance and round trip) or a count"
                    + " (default: the --plan's k with its drafter, else auto).")
    String draftK;

    /** Takes the plan's drafter and k where the command line named none (a plan by ./splitllm plan --draft). */
    void applyPlan(SplitOptions split) {
        if (draft == null && split.planDraft != null) {
            draft = split.planDraft;
            if (draftK == null) draftK = Integer.toString(split.planDraftK);
        }
    }

    @Option(names = "--draft-head", paramLabel = "FILE",
            description = "Adapter file for --draft exit-head (default: the one ./splitllm calibrate --draft-head wrote to the cache folder).")
    Path draftHead;

    /** A drafter opened for one session, with what the summary line needs. */
    static final class Opened implements AutoCloseable {
        final Speculation speculation;
        final String label;
        private final Drafter drafter;

        Opened(Speculation speculation, String label, Drafter drafter) {
            this.speculation = speculation;
            this.label = label;
            this.drafter = drafter;
        }

        @Override
        public void close() {
            if (drafter != null) drafter.close();
        }
    }

    boolean enabled() {
        return draft != null && !draft.equalsIgnoreCase("none");
    }

    /** Opens the drafter for a split at {@code split} of {@code model} (vocabulary {@code vocab}), or none. */
    Opened open(Path model, int split, int vocab, int maxSeqLen, int threads) {
        if (!enabled()) return new Opened(Speculation.none(), "none", null);
        int k;
        try {
            k = DraftPolicy.parseK(draftK); // null: auto
        } catch (IllegalArgumentException e) {
            throw new CliFailure(e.getMessage(), e);
        }
        Drafter d = openDrafter(model, split, vocab, maxSeqLen, threads);
        try {
            return new Opened(Speculation.with(d, k), d.name(), d);
        } catch (IllegalArgumentException e) {
            d.close();
            throw new CliFailure("--draft-k: " + e.getMessage(), e);
        }
    }

    private Drafter openDrafter(Path model, int split, int vocab, int maxSeqLen, int threads) {
        String spec = draft.trim();
        try {
            if (spec.equals("ngram")) return new NgramDrafter();
            if (spec.equals("exit-head")) {
                Path file = draftHead != null ? draftHead : defaultHeadFile(model, split);
                if (!Files.isRegularFile(file)) {
                    throw new CliFailure("--draft exit-head needs an adapter file: " + file + " does not exist; fit one with"
                            + " ./splitllm calibrate --draft-head --split " + split + " (or pass --draft-head FILE)");
                }
                DraftHead head = DraftHead.read(file);
                if (head.splitLayer() != split) {
                    throw new CliFailure("--draft-head " + file + " was fitted for split " + head.splitLayer() + ", this session splits at "
                            + split + "; fit one with ./splitllm calibrate --draft-head --split " + split);
                }
                return ExitHeadDrafter.load(model, head, ExitHeadDrafter.DEFAULT_CLASSIFIER_FORMAT, KernelProvider.best());
            }
            if (spec.equals("model") || spec.startsWith("model:")) {
                String rest = spec.equals("model") ? "" : spec.substring("model:".length());
                String path = rest, format = spec.equals("model") ? "q4_0" : null;
                int at = rest.lastIndexOf('@');
                if (at >= 0) {
                    path = rest.substring(0, at);
                    format = rest.substring(at + 1);
                }
                Path file = path.isEmpty() ? model : Path.of(path);
                if (!Files.isRegularFile(file)) throw new CliFailure("--draft " + spec + ": no model file at " + file);
                WeightFormat f;
                try {
                    f = format == null ? null : WeightFormat.parse(format);
                } catch (IllegalArgumentException e) {
                    throw new CliFailure("--draft " + spec + ": " + e.getMessage(), e);
                }
                ModelDrafter m = ModelDrafter.open(file, f, maxSeqLen, threads);
                if (m.vocabSize() != vocab) {
                    m.close();
                    throw new CliFailure("--draft " + spec + ": the draft model's vocabulary (" + m.vocabSize()
                            + ") differs from the model's (" + vocab + "); a draft model must share the tokenizer");
                }
                return m;
            }
        } catch (IOException e) {
            throw new CliFailure("--draft " + spec + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--draft " + spec + ": " + e.getMessage(), e);
        }
        throw new CliFailure("--draft must be none, ngram, model, model:PATH[@FORMAT] or exit-head, got " + spec);
    }

    /** Where {@code calibrate --draft-head} writes the adapter of {@code model} at {@code split}. */
    static Path defaultHeadFile(Path model, int split) {
        Path tables = dev.splitllm.quantization.codec.CodecTables.cacheFolder(); // the cache folder: draft-heads beside codec-tables
        if (tables == null) throw new CliFailure("no cache folder for the draft head (set -Dsplitllm.cache, or give --draft-head FILE)");
        return tables.resolveSibling("draft-heads").resolve(CalibrateCommand.modelName(model) + "-l" + split + ".xhead");
    }

    /** {@code speculative: drafter=D k=K accepted/drafted=A/B tokens per round trip=X}, when speculating. */
    static void summary(Opened opened, GenerationResult r, PrintWriter err) {
        if (!opened.speculation.enabled()) return;
        err.println(summaryLine(opened.label, opened.speculation.kLabel(), r));
        err.flush();
    }

    static String summaryLine(String drafter, String k, GenerationResult r) {
        return String.format(Locale.ROOT, "speculative: drafter=%s k=%s accepted/drafted=%d/%d tokens per round trip=%.2f", drafter, k,
                r.accepted(), r.drafted(), r.tokensPerRoundTrip());
    }
}
