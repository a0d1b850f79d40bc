package dev.splitllm.cli;

import dev.splitllm.cloud.CloudServer;
import dev.splitllm.cloud.CloudWeights;
import dev.splitllm.cloud.ModelHost;
import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.quantization.weights.WeightFormat;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * A cloud server in this process for a benchmark: the loaded model in every weight format, one
 * kernel thread (the edge has the other core), default limits, a random bearer token, loopback on
 * a free port. Closing it stops the server and its thread.
 */
final class LocalServer implements AutoCloseable {
    final String token = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
    private final ThreadTeam team = new ThreadTeam(1);
    final CloudServer server;

    LocalServer(ModelLoader.Loaded m) {
        CloudServer s;
        try {
            s = new CloudServer(ServerConfig.defaults(Set.of(token)), new ModelHost(m.weights(), m.tokenizer(), KernelProvider.best(),
                    team, EnumSet.allOf(WeightFormat.class), CloudWeights::convert)).start();
        } catch (RuntimeException | Error e) {
            team.close();
            throw e;
        }
        this.server = s;
    }

    String baseUrl() {
        return server.baseUrl();
    }

    int port() {
        return server.port();
    }

    @Override
    public void close() {
        try {
            server.close();
        } finally {
            team.close();
        }
    }
}
