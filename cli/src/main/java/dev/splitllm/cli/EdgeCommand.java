package dev.splitllm.cli;

import dev.splitllm.edge.EdgeException;
import dev.splitllm.edge.EdgeModel;
import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.GenerationResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code splitllm edge}: this device runs the front blocks and streams to a cloud server. */
@Command(name = "edge", mixinStandardHelpOptions = true,
        description = {"Run the edge half of a split against a cloud server: load only the embedding and blocks",
                "[0, --split), run the prompt and each new token through them, send the compressed hidden state,",
                "and print tokens as they arrive, then per-token figures (edge ms, encode ms, bytes up, net+cloud ms)."},
        footer = {"", "Example:", "  ./splitllm edge --server http://127.0.0.1:8080 --token secret --prompt \"Once upon a time\" -n 64",
                "  ./splitllm edge --server http://10.0.0.2:8080 --token secret --split 2 --codec fp16 --edge-weights q8_0"})
public final class EdgeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Mixin
    SplitOptions split;

    @Option(names = "--server", required = true, paramLabel = "URL", description = "Cloud server base URL, e.g. http://127.0.0.1:8080.")
    String server;

    @Option(names = "--token", paramLabel = "TOKEN", description = "Bearer token (default: SPLITLLM_TOKEN).")
    String token;

    @Option(names = {"-p", "--prompt"}, defaultValue = "Once upon a time", description = "Prompt (default: \"${DEFAULT-VALUE}\").")
    String prompt;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "64", description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--per-token", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Print a figures row for every step after the story (default: on).")
    boolean perToken;

    @Override
    public Integer call() throws IOException {
        String tok = token != null ? token : System.getenv("SPLITLLM_TOKEN");
        if (tok == null || tok.isBlank()) {
            throw new ParameterException(spec.commandLine(), "no bearer token: pass --token or set SPLITLLM_TOKEN");
        }
        URI uri;
        try {
            uri = URI.create(server);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--server: " + e.getMessage());
        }
        if (maxTokens < 1) throw new ParameterException(spec.commandLine(), "-n must be >= 1");
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        shared.describeKernels(err);
        ModelLoader.ModelPaths files = ModelLoader.resolve(shared, System.err);
        split.applyPlan(files.model());
        try (EdgeModel model = EdgeModel.open(files.model(), files.tokenizer(), split.split, split.edgeFormat(), shared.threads());
             EdgeSession session = EdgeSession.open(model, split.edgeOptions(uri, tok))) {
            err.printf(Locale.ROOT, "edge: blocks [0, %d) of %d at %s, %.2f MB of weights; codec %s; session %s%n", split.split,
                    model.config().nLayers(), split.edgeFormat().id(), model.weightBytes() / 1e6, split.codecSpec(), session.sessionId());
            err.flush();
            GenerationResult r = EdgeRun.stream(session, prompt, maxTokens, out);
            if (perToken) EdgeRun.perToken(r, err);
            EdgeRun.summary(r, model.config().dim(), session.residentBytes(), err);
        } catch (EdgeException e) {
            throw new CliFailure(e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new CliFailure(e.getMessage(), e);
        }
        return 0;
    }
}
