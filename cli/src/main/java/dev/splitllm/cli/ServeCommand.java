package dev.splitllm.cli;

import dev.splitllm.cloud.CloudServer;
import dev.splitllm.cloud.CloudWeights;
import dev.splitllm.cloud.ModelHost;
import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.engine.forward.Backend;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.onnx.OnnxBackend;
import dev.splitllm.engine.onnx.OnnxOptions;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.quantization.weights.WeightFormat;
import dev.splitllm.optimizer.plan.Plan;
import dev.splitllm.optimizer.plan.PlanFile;
import dev.splitllm.optimizer.profile.Units;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code splitllm serve}: the cloud endpoint, serving the back segment of any split until stopped. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Run the cloud server: REST for sessions, health, metrics and plain completions,",
                "and a WebSocket per session that takes hidden-state frames and streams tokens back.",
                "Bearer tokens come from SPLITLLM_TOKENS (comma-separated) or --token-file FILE (one per line);",
                "--token on the command line works but is visible in ps. Plain HTTP only on loopback: beyond it,",
                "serve HTTPS with --tls-cert/--tls-key (SIGHUP reloads them) or put a TLS proxy in front (docs/DEPLOY.md).",
                "Stop with Ctrl-C."},
        footer = {"", "Example:", "  SPLITLLM_TOKENS=secret ./splitllm serve --port 8080",
                "  ./splitllm serve --host 0.0.0.0 --port 8443 --token-file /etc/splitllm/tokens --tls-cert /etc/letsencrypt/live/example.org/fullchain.pem --tls-key /etc/letsencrypt/live/example.org/privkey.pem --max-sessions 16 --max-sessions-per-token 4 --max-kv 256MB"})
public final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--token", paramLabel = "TOKEN",
            description = "Accepted bearer token (repeatable; visible in ps: prefer SPLITLLM_TOKENS or --token-file).")
    List<String> tokens = new ArrayList<>();

    @Option(names = "--token-file", paramLabel = "FILE", description = "Accepted bearer tokens, one per line ('#' comments).")
    Path tokenFile;

    @Option(names = "--tls-cert", paramLabel = "FILE", description = "PEM certificate chain (e.g. fullchain.pem): serve HTTPS and WSS.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "PEM private key of --tls-cert (PKCS#8 or RSA, unencrypted).")
    Path tlsKey;

    @Option(names = "--max-sessions-per-token", paramLabel = "N",
            description = "Sessions one token may hold (default: half of --max-sessions with several tokens, all with one).")
    Integer maxSessionsPerToken;

    @Option(names = "--max-kv-per-token", paramLabel = "BYTES",
            description = "KV memory one token may reserve (default: half of --max-kv with several tokens, all with one).")
    String maxKvPerToken;

    @Option(names = "--metrics-token", paramLabel = "TOKEN",
            description = "Bearer token GET /metrics requires (default: SPLITLLM_METRICS_TOKEN; unset: /metrics is public).")
    String metricsToken;

    @Option(names = "--max-sessions", defaultValue = "64", description = "Concurrent sessions (default: ${DEFAULT-VALUE}).")
    int maxSessions;

    @Option(names = "--max-kv", defaultValue = "512MB", description = "KV-cache memory all sessions may reserve (default: ${DEFAULT-VALUE}).")
    String maxKv;

    @Option(names = "--idle-timeout", defaultValue = "5min", description = "Close sessions idle this long (default: ${DEFAULT-VALUE}).")
    String idleTimeout;

    @Option(names = "--max-frame", defaultValue = "16MB", description = "Largest uplink frame (default: ${DEFAULT-VALUE}).")
    String maxFrame;

    @Option(names = "--cloud-weights", split = ",", paramLabel = "FORMAT",
            description = "Weight formats sessions may ask for (default: f32,f16,bf16,q8_0,q4_0). Formats other than the "
                    + "loaded one are converted once, on first use.")
    List<String> cloudWeights;

    @Option(names = "--backend", defaultValue = "java", paramLabel = "java|onnx",
            description = "What computes the cloud segments: the Java engine or ONNX Runtime (CPU, or CUDA when present) (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--drain-timeout", defaultValue = "20s", paramLabel = "DURATION",
            description = "On SIGTERM: stop admissions, let steps in flight finish, move sessions to other replicas "
                    + "(close code 4302), wait at most this long for completions, then exit (default: ${DEFAULT-VALUE}).")
    String drainTimeout;

    @Option(names = "--plan", paramLabel = "FILE",
            description = "A plan from 'splitllm plan': checked against the model, and its cloud weight format is prepared at start.")
    Path plan;

    @Override
    public Integer call() throws Exception {
        ServerConfig config = config();
        PrintWriter out = spec.commandLine().getOut();
        shared.describeKernels(spec.commandLine().getErr());
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        try (ThreadTeam team = new ThreadTeam(shared.threads())) {
            Set<WeightFormat> formats = EnumSet.noneOf(WeightFormat.class);
            if (cloudWeights == null || cloudWeights.isEmpty()) {
                formats.addAll(EnumSet.allOf(WeightFormat.class));
            } else {
                for (String f : cloudWeights) formats.add(parseFormat(f));
            }
            Function<ModelWeights, Backend> factory = switch (backend) {
                case "java" -> w -> new JavaBackend(w, KernelProvider.best(), team);
                case "onnx" -> w -> OnnxBackend.create(w, OnnxOptions.defaults().withThreads(shared.threads()));
                default -> throw new ParameterException(spec.commandLine(), "--backend must be java or onnx, got '" + backend + "'");
            };
            ModelHost host = new ModelHost(m.weights(), m.tokenizer(), factory, formats, CloudWeights::convert);
            host.withChatPrompt(chatPrompt(m));
            if (plan != null) {
                Plan p;
                try {
                    p = PlanFile.read(plan, m.weights().config());
                } catch (IllegalArgumentException e) {
                    throw new CliFailure("unusable plan: " + e.getMessage(), e);
                }
                WeightFormat cloud = WeightFormat.parse(p.cloudFormat());
                if (!formats.contains(cloud)) {
                    throw new CliFailure("the plan's cloud weights " + cloud.id() + " are not among --cloud-weights");
                }
                host.backend(cloud); // convert now, not on the first session
                out.printf("plan %s: split %d, cloud weights %s, codec %s%n", plan, p.split(), cloud.id(), p.codec());
            }
            CountDownLatch stopped = new CountDownLatch(1);
            java.time.Duration drain = Units.parseDuration(drainTimeout);
            try (CloudServer server = new CloudServer(config, host).start()) {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    // SIGTERM (Kubernetes, cluster.sh down): drain first, so edges replay elsewhere at once.
                    int moved = server.drain(drain);
                    System.err.println("serve: drained, " + moved + " sessions moved to other replicas");
                    server.close();
                    stopped.countDown();
                }, "splitllm-serve-shutdown"));
                if (config.tls() != null) reloadOnSighup(server);
                out.printf("splitllm cloud server listening on %s (model %s, d=%d, %d layers; kernels %s)%n",
                        server.baseUrl(), m.modelFile().getFileName(), m.weights().config().dim(),
                        m.weights().config().nLayers(), host.kernelName());
                out.flush();
                stopped.await();
            }
        }
        return 0;
    }

    ServerConfig config() { // package-private for UnitsOptionsTest
        PrintWriter err = spec.commandLine().getErr();
        Set<String> all = new LinkedHashSet<>(ServerConfig.parseTokens(System.getenv("SPLITLLM_TOKENS")));
        if (tokenFile != null) {
            try {
                all.addAll(ServerConfig.readTokenFile(tokenFile));
            } catch (java.io.IOException e) {
                throw new ParameterException(spec.commandLine(), "--token-file: cannot read " + tokenFile + ": " + e.getMessage());
            }
        }
        if (!tokens.isEmpty()) {
            err.println("warning: --token puts the token in the process list (ps); use SPLITLLM_TOKENS or --token-file FILE");
            all.addAll(tokens);
        }
        if (all.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "no bearer token: set SPLITLLM_TOKENS or pass --token-file FILE");
        }
        String metrics = metricsToken != null ? metricsToken : System.getenv("SPLITLLM_METRICS_TOKEN");
        if (metricsToken != null) err.println("warning: --metrics-token is visible in ps; prefer SPLITLLM_METRICS_TOKEN");
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new ParameterException(spec.commandLine(), "TLS needs both --tls-cert and --tls-key");
        }
        try {
            ServerConfig base = ServerConfig.defaults(all);
            long kv = Units.parseBytes(maxKv);
            ServerConfig c = new ServerConfig(host, port, all, maxSessions, kv, Units.parseDuration(idleTimeout),
                    (int) Math.min(Integer.MAX_VALUE, Units.parseBytes(maxFrame)), base.maxSeqLen(),
                    maxSessionsPerToken != null ? maxSessionsPerToken : ServerConfig.defaultPerToken(all, maxSessions),
                    maxKvPerToken != null ? Units.parseBytes(maxKvPerToken) : ServerConfig.defaultPerToken(all, kv),
                    metrics == null || metrics.isBlank() ? null : metrics.trim(),
                    tlsCert == null ? null : new ServerConfig.TlsFiles(tlsCert, tlsKey));
            if (c.tls() == null && !isLoopback(host)) {
                err.println("warning: plain HTTP on " + host + ": tokens and hidden states cross the network in cleartext;"
                        + " serve --tls-cert/--tls-key or put a TLS proxy in front (docs/DEPLOY.md)");
            }
            err.flush();
            return c;
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1") || host.equals("[::1]");
    }

    /** SIGHUP re-reads --tls-cert and --tls-key (after a renewal); a bad file keeps the running certificate. */
    @SuppressWarnings("sunapi")
    private void reloadOnSighup(CloudServer server) {
        PrintWriter err = spec.commandLine().getErr();
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> {
                try {
                    server.reloadTls();
                    err.println("serve: TLS certificate reloaded from " + tlsCert);
                } catch (RuntimeException e) {
                    err.println("serve: TLS reload failed, keeping the current certificate: " + e.getMessage());
                }
                err.flush();
            });
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            err.println("serve: no SIGHUP on this platform; restart to load a new certificate");
        }
    }

    private WeightFormat parseFormat(String f) {
        try {
            return WeightFormat.parse(f);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** The model's own chat template for /v1/chat/completions when its GGUF file has one; else the plain fallback. */
    private static dev.splitllm.cloud.ChatPrompt chatPrompt(ModelLoader.Loaded m) {
        try {
            if (dev.splitllm.engine.load.ModelFiles.detect(m.modelFile()) != dev.splitllm.engine.model.ModelFormat.GGUF) {
                return dev.splitllm.cloud.ChatPrompt.CONCATENATED;
            }
            return dev.splitllm.cloud.TemplateChatPrompt.forGguf(m.modelFile());
        } catch (java.io.IOException e) {
            throw new CliFailure("cannot read the chat template of " + m.modelFile() + ": " + e.getMessage(), e);
        }
    }
}
