package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.cloud.TestCertificates;
import dev.splitllm.engine.sample.Sampler;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The edge over https/wss with a private CA, a wrong CA refused clearly, and a hung server given up on in bounded time. */
class EdgeTlsTest {

    @Test
    void aSessionRunsOverTlsAndAWrongCaIsRefused(@TempDir Path dir) throws Exception {
        TestCertificates certs = TestCertificates.create(dir.resolve("ok"), "splitllm edge test CA");
        TestCertificates stranger = TestCertificates.create(dir.resolve("other"), "some other CA");
        ServerConfig c = ServerConfig.defaults(Set.of(Fixture.TOKEN)).withTls(new ServerConfig.TlsFiles(certs.chainPem, certs.keyPem));
        try (Fixture fx = new Fixture(c); EdgeModel model = fx.edge(3)) {
            assertTrue(fx.server.baseUrl().startsWith("https://"));
            EdgeOptions o = fx.options().withTrust(EdgeTrust.fromPem(certs.caPem));
            int[] expected = fx.monolithic("Once upon a time", 12, Sampler.greedy());
            try (EdgeSession s = EdgeSession.open(model, o)) {
                GenerationResult r = s.generate("Once upon a time", 12, (id, text, stats) -> { });
                assertArrayEquals(expected, r.tokens(), "the split run over TLS equals the unsplit model");
            }
            assertTrue(fx.server.metricsText().contains("splitllm_sessions_active 0"), "close deleted the session");

            EdgeException wrong = assertThrows(EdgeException.class,
                    () -> EdgeSession.open(model, fx.options().withTrust(EdgeTrust.fromPem(stranger.caPem))).close());
            assertEquals("tls", wrong.code(), wrong.getMessage());
            assertTrue(wrong.getMessage().contains("not trusted") && wrong.getMessage().contains("--ca-cert"), wrong.getMessage());
            assertTrue(fx.server.metricsText().contains("splitllm_sessions_active 0"));
        }
    }

    @Test
    void aHungServerIsGivenUpOnWithinTheTotalDeadline() throws Exception {
        // A server that accepts connections and never answers a byte.
        List<Socket> held = new ArrayList<>();
        try (ServerSocket hung = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             EdgeModel model = EdgeModel.load(Fixture.checkpoint(), Fixture.tokenizerFile(), 3, 1)) {
            Thread acceptor = new Thread(() -> {
                try {
                    while (held.size() < 20) held.add(hung.accept());
                } catch (java.io.IOException closed) {
                    // the test is over
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            EdgeOptions o = EdgeOptions.defaults(URI.create("http://127.0.0.1:" + hung.getLocalPort()), Fixture.TOKEN)
                    .withMaxSeqLen(64).withDeadlines(Duration.ofSeconds(1), Duration.ofSeconds(2));
            long t0 = System.nanoTime();
            EdgeException e = assertThrows(EdgeException.class, () -> EdgeSession.open(model, o).close());
            double s = (System.nanoTime() - t0) / 1e9;
            assertEquals("timeout", e.code(), e.getMessage());
            assertTrue(s < 6, "gave up after " + s + " s with a 2 s total deadline");
            for (Socket x : held) x.close();
        }
    }
}
