package dev.splitllm.cli;

import dev.splitllm.eval.EvalHarness;
import dev.splitllm.eval.EvalOptions;
import dev.splitllm.eval.EvalReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code splitllm eval}: quality, payload and baselines through the real codec, on real text. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluate split configurations against the unsplit fp32 model (--model: any format; default the built-in",
                "stories15M): perplexity on Jane Austen and the King James Bible (fetched once with apt-get download, parsed",
                "in Java, checked by sha256), teacher-forced top-1 agreement and mean KL on a fixed prompt set, bits per",
                "element; TS + TAB-Q (+ rotation, + zstd) next to the baselines fp16, Q8_0 wire, uniform b-bit, SmoothQuant",
                "W8A8 and Atom W4A4.",
                "--quick is a smoke run (about 30 s); --full the bounded sweep behind docs/RESULTS.md; --headline the",
                "64 prompts x 64 tokens comparison at split 3."},
        footer = {"", "Example:", "  ./splitllm eval --quick", "  ./splitllm eval --full --out docs/eval"})
public final class EvalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--quick", description = "Smoke configuration (default).")
    boolean quick;

    @Option(names = "--full", description = "The bounded full sweep (several minutes).")
    boolean full;

    @Option(names = "--headline", description = "64 prompts x 64 tokens at split 3 (several minutes).")
    boolean headline;

    @Option(names = "--out", description = "Folder for the markdown report and SVG charts.")
    Path out;

    @Override
    public Integer call() throws IOException {
        if ((quick ? 1 : 0) + (full ? 1 : 0) + (headline ? 1 : 0) > 1) {
            throw new ParameterException(spec.commandLine(), "choose one of --quick, --full, --headline");
        }
        ModelLoader.ModelPaths paths = ModelLoader.resolve(shared, System.err);
        EvalOptions base = full ? EvalOptions.full() : headline ? EvalOptions.headline() : EvalOptions.quick();
        String mode = full ? "--full" : headline ? "--headline" : "--quick";
        // tokenizer null: the model's own (GGUF, Hugging Face, or the tokenizer.bin beside a llama2.c file)
        EvalOptions o = base.withModel(paths.model(), paths.tokenizer()).withThreads(shared.threads());
        PrintWriter err = spec.commandLine().getErr();
        long[] last = {0};
        EvalReport report;
        try {
            report = EvalHarness.run(o, (stage, done, total) -> {
                long now = System.nanoTime();
                if (done == total || now - last[0] > 2_000_000_000L) {
                    last[0] = now;
                    int width = 30;
                    int filled = total <= 0 ? width : (int) (width * done / Math.max(1, total));
                    err.printf(Locale.ROOT, "%-28s [%s%s] %d/%d%n", stage, "=".repeat(filled), " ".repeat(width - filled), done, total);
                    err.flush();
                }
            });
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw new CliFailure(e.getMessage(), e);
        }
        PrintWriter o2 = spec.commandLine().getOut();
        if (out != null) {
            Path written = EvalHarness.write(report, out, "./splitllm eval " + mode
                    + (shared.model() == null ? "" : " --model " + shared.model()) + " --threads " + shared.threads() + " --out " + out);
            err.println("wrote " + written);
        }
        o2.println(report.markdown());
        if (headline) {
            o2.println(report.headline()); // the last line: headline: codec=SPEC bits=X kl=Y agreement=Z vs q8_0 bits=8.50 kl=W
        }
        return 0;
    }
}
