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
                "Bearer tokens come from --token (repeatable) or SPLITLLM_TOKENS (comma-separated). Stop with Ctrl-C."},
        footer = {"", "Example:", "  SPLITLLM_TOKENS=secret ./splitllm serve --port 8080",
                "  ./splitllm serve --host 0.0.0.0 --port 8080 --token secret --max-sessions 16 --max-kv 256MB"})
public final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--token", paramLabel = "TOKEN", description = "Accepted bearer token (repeatable). Default: SPLITLLM_TOKENS.")
    List<String> tokens = new ArrayList<>();

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
            try (CloudServer server = new CloudServer(config, host).start()) {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    server.close();
                    stopped.countDown();
                }, "splitllm-serve-shutdown"));
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
        Set<String> all = new LinkedHashSet<>(tokens);
        all.addAll(ServerConfig.parseTokens(System.getenv("SPLITLLM_TOKENS")));
        if (all.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "no bearer token: pass --token or set SPLITLLM_TOKENS");
        }
        try {
            ServerConfig base = ServerConfig.defaults(all);
            return new ServerConfig(host, port, all, maxSessions, Units.parseBytes(maxKv), Units.parseDuration(idleTimeout),
                    (int) Math.min(Integer.MAX_VALUE, Units.parseBytes(maxFrame)), base.maxSeqLen());
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private WeightFormat parseFormat(String f) {
        try {
            return WeightFormat.parse(f);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
