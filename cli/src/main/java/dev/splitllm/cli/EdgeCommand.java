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
                "and print tokens as they arrive, then per-token figures (edge ms, encode ms, bytes up, net+cloud ms).",
                "The token comes from SPLITLLM_TOKEN or --token-file (--token works but is visible in ps). https:// uses",
                "the system trust store, or --ca-cert FILE. Ctrl-C or SIGTERM deletes the cloud session before exiting;",
                "a hung server is given up on after --total-timeout (default 60 s) per step."},
        footer = {"", "Example:", "  SPLITLLM_TOKEN=secret ./splitllm edge --server http://127.0.0.1:8080 --prompt \"Once upon a time\" -n 64",
                "  ./splitllm edge --server https://cloud.example.org:8443 --token-file ~/.splitllm-token --ca-cert ca.pem --split 2 --codec fp16 --edge-weights q8_0"})
public final class EdgeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Mixin
    SplitOptions split;

    @Option(names = "--server", required = true, paramLabel = "URL", description = "Cloud server base URL, e.g. http://127.0.0.1:8080.")
    String server;

    @Option(names = "--token", paramLabel = "TOKEN", description = "Bearer token (visible in ps: prefer SPLITLLM_TOKEN or --token-file).")
    String token;

    @Option(names = "--token-file", paramLabel = "FILE", description = "File whose first line is the bearer token.")
    java.nio.file.Path tokenFile;

    @Option(names = "--ca-cert", paramLabel = "FILE", description = "PEM CA certificate(s) to trust for https/wss instead of the system store.")
    java.nio.file.Path caCert;

    /** How long the shutdown hook waits for the session's DELETE (the DELETE itself gives up after 5 s). */
    static final long SHUTDOWN_WAIT_MS = 7_000;

    @Option(names = {"-p", "--prompt"}, defaultValue = "Once upon a time", description = "Prompt (default: \"${DEFAULT-VALUE}\").")
    String prompt;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "64", description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Mixin
    DraftOptions draft;

    @Mixin
    MoveCliOptions move;

    @Option(names = "--restore", paramLabel = "SESSION_ID",
            description = "Take back a session an earlier edge left (--detach-at, a killed app): the cloud stops generating alone,"
                    + " this edge rebuilds its layers (KV sent down or recomputed, --move-down) and goes on up to -n tokens in all."
                    + " --prompt must be the session's own unless it was handed off (the cloud kept it).")
    String restore;

    @Option(names = "--per-token", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Print a figures row for every step after the story (default: on).")
    boolean perToken;

    @Override
    public Integer call() throws IOException {
        String tok = System.getenv("SPLITLLM_TOKEN");
        if (tokenFile != null) {
            try {
                tok = java.nio.file.Files.readAllLines(tokenFile).stream().map(String::trim).filter(l -> !l.isEmpty())
                        .findFirst().orElse(null);
            } catch (IOException e) {
                throw new ParameterException(spec.commandLine(), "--token-file: cannot read " + tokenFile + ": " + e.getMessage());
            }
        }
        if (token != null) {
            spec.commandLine().getErr().println("warning: --token puts the token in the process list (ps); use SPLITLLM_TOKEN or --token-file FILE");
            tok = token;
        }
        if (tok == null || tok.isBlank()) {
            throw new ParameterException(spec.commandLine(), "no bearer token: set SPLITLLM_TOKEN or pass --token-file FILE");
        }
        dev.splitllm.edge.EdgeTrust trust;
        try {
            trust = caCert == null ? null : dev.splitllm.edge.EdgeTrust.fromPem(caCert);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--ca-cert: " + e.getMessage());
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
        draft.applyPlan(split);
        if (split.allEdge(layers(files.model()))) {
            LocalGeneration.runAllEdge(ModelLoader.load(shared, System.err), split, prompt, maxTokens, shared.threads(), out, err);
            return 0;
        }
        java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
        try (EdgeModel model = EdgeModel.open(files.model(), files.tokenizer(), split.split, split.edgeFormat(), shared.threads(),
                     move.reach(split.split, layers(files.model())));
             DraftOptions.Opened drafter = draft.open(files.model(), split.split, model.config().vocabSize(), split.maxSeqLen,
                     shared.threads());
             EdgeSession session = restore != null
                     ? EdgeSession.restore(model, split.edgeOptions(uri, tok, trust), restore, promptGiven() ? prompt : null, moves(model))
                     : EdgeSession.open(model, split.edgeOptions(uri, tok, trust), drafter.speculation, moves(model))) {
            // Ctrl-C / SIGTERM: stop the generation; the try-with-resources then deletes the cloud
            // session. The hook waits (bounded) for that before the JVM goes.
            Thread hook = new Thread(() -> {
                session.cancel();
                try {
                    closed.await(SHUTDOWN_WAIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "splitllm-edge-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            err.printf(Locale.ROOT, "edge: blocks [0, %d) of %d at %s, %.2f MB of weights; codec %s; session %s%n", split.split,
                    model.config().nLayers(), split.edgeFormat().id(), model.weightBytes() / 1e6, split.codecSpec(), session.sessionId());
            err.flush();
            MoveCliOptions.printMoves(session, err);
            move.seedCosts(session, split.edgeFormat().id(), split.cloudFormat().id(), model.tokenizer().encode(prompt, true).length);
            GenerationResult r;
            if (restore != null) {
                err.printf(Locale.ROOT, "restored session %s at cut l=%d (layers rebuilt: %s); the story so far:%n", restore,
                        session.split(), session.restoredFrom());
                err.flush();
                out.print(session.restoredText());
                out.flush();
                r = session.resume(maxTokens, false, move.triggers(session, (id, text, stats) -> {
                    out.print(text);
                    out.flush();
                }, err));
                out.println();
                out.flush();
            } else {
                r = EdgeRun.stream(session, prompt, maxTokens, out, print -> move.triggers(session, print, err));
            }
            if (EdgeSession.DETACHED.equals(r.stopReason())) {
                err.printf(Locale.ROOT, "detached after %d tokens: the cloud keeps session %s; take it back with --restore %s%n",
                        r.tokens().length, session.sessionId(), session.sessionId());
            }
            if (perToken) EdgeRun.perToken(r, err);
            EdgeRun.summary(r, model.config().dim(), session.residentBytes(), err);
            DraftOptions.summary(drafter, r, err);
            MoveCliOptions.summary(session.moves(), err);
        } catch (EdgeException e) {
            throw new CliFailure(e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new CliFailure(e.getMessage(), e);
        } finally {
            closed.countDown(); // the session is closed (deleted) by now
        }
        return 0;
    }

    /** True when --prompt was given on the command line (a restore of a handed-off session needs none). */
    private boolean promptGiven() {
        return spec.commandLine().getParseResult().hasMatchedOption("--prompt");
    }

    private static int layers(java.nio.file.Path model) {
        try (dev.splitllm.engine.model.ModelSource src = dev.splitllm.engine.load.ModelFiles.open(model)) {
            return src.config().nLayers();
        } catch (java.io.IOException e) {
            throw new CliFailure("cannot load the model: " + e.getMessage(), e);
        }
    }

    /** The session's move options: scripted, adaptive or none (a bad script or kind is a clear usage error). */
    private dev.splitllm.edge.MoveOptions moves(EdgeModel model) {
        try {
            return move.build(split.split, model.config().nLayers());
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
