package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.quantization.protocol.SessionRequest;
import dev.splitllm.quantization.weights.WeightFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * KV admission: each session reserves exactly the engine's memory-account figure for its blocks
 * and positions, and gives back exactly what it reserved, however it ends (deleted, expired).
 */
class SessionRegistryTest {

    private static void assertBalanced(SessionRegistry reg) {
        long live = reg.sessions().stream().mapToLong(s -> s.reservedKvBytes).sum();
        assertEquals(live, reg.reservedKvBytes(), "the reserved total must equal the sum over live sessions");
    }

    @Test
    void reservedKvReturnsToZeroAndEqualsTheSumOverLiveSessions() throws Exception {
        int layers = ServerFixture.config().nLayers();
        int[][] shapes = {{1, 32}, {2, 64}, {3, 128}, {5, 16}, {0, 256}, {4, 100}};
        long total = 0;
        for (int[] sh : shapes) total += MemoryAccount.kvCacheBytes(ServerFixture.config(), layers - sh[0], sh[1]);
        // Room for all of them but not one more of the largest: the refusal must not leak either.
        ServerConfig config = ServerConfig.defaults(Set.of("t")).withLimits(16, total, Duration.ofMillis(300));
        byte[] owner = Auth.digest("t");
        try (ThreadTeam team = new ThreadTeam(1)) {
            ModelHost host = new ModelHost(ServerFixture.model(), ServerFixture.tokenizer(), KernelProvider.best(), team,
                    Set.of(WeightFormat.F32), null);
            SessionRegistry reg = new SessionRegistry(config, host);
            List<CloudSession> made = new ArrayList<>();
            for (int[] sh : shapes) {
                CloudSession s = reg.create(new SessionRequest(sh[0], "fp32", "f32", sh[1], 0f, 1f, 1), owner);
                assertEquals(MemoryAccount.kvCacheBytes(ServerFixture.config(), layers - sh[0], sh[1]), s.reservedKvBytes);
                made.add(s);
                assertBalanced(reg);
            }
            assertEquals(total, reg.reservedKvBytes());
            ApiException full = assertThrows(ApiException.class,
                    () -> reg.create(new SessionRequest(0, "fp32", "f32", 256, 0f, 1f, 1), owner));
            assertEquals(503, full.status());
            assertEquals(total, reg.reservedKvBytes(), "a refused session reserves nothing");
            assertBalanced(reg);

            // Deleted by their client.
            assertTrue(reg.close(made.get(1)));
            assertFalse(reg.close(made.get(1)), "a second close releases nothing");
            assertTrue(reg.close(made.get(4)));
            assertBalanced(reg);
            assertEquals(4, reg.active());

            // A completion's reservation shares the budget and comes back in full.
            long completion = MemoryAccount.kvCacheBytes(ServerFixture.config(), layers, 40);
            reg.reserveKv(completion, "a completion", owner);
            assertEquals(reg.reservedKvBytes(), reg.kvBytesOf(owner), "the only token's share is the whole reservation, completion included");
            reg.releaseKv(completion, owner);
            assertBalanced(reg);

            // The rest expire: poll the sweep (bounded) rather than assume how long idling takes.
            List<CloudSession> expired = new ArrayList<>();
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (reg.active() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
                reg.expireIdle(expired::add);
                assertBalanced(reg);
            }
            assertEquals(0, reg.active());
            assertEquals(4, expired.size());
            assertEquals(0, reg.reservedKvBytes(), "every reservation came back");
            assertEquals(0, reg.expireIdle(expired::add));
            host.close();
        }
    }
}
