package dev.splitllm.engine.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ThreadTeamTest {

    @Test
    void everyIndexIsCoveredExactlyOnceEvenWithConcurrentCallers() throws Exception {
        try (ThreadTeam team = new ThreadTeam(3)) {
            ExecutorService callers = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> jobs = new ArrayList<>();
                for (int c = 0; c < 4; c++) {
                    jobs.add(callers.submit(() -> {
                        for (int rep = 0; rep < 300; rep++) {
                            int n = 7 + rep % 97;
                            AtomicIntegerArray hits = new AtomicIntegerArray(n);
                            team.run(n, (from, to) -> {
                                for (int i = from; i < to; i++) hits.incrementAndGet(i);
                            });
                            for (int i = 0; i < n; i++) {
                                assertEquals(1, hits.get(i), "index " + i + " of " + n);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : jobs) f.get();
            } finally {
                callers.shutdownNow();
            }
        }
    }

    @Test
    void failuresInAnyShareReachTheCaller() {
        try (ThreadTeam team = new ThreadTeam(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> team.run(100, (from, to) -> {
                if (from > 0) throw new IllegalStateException("worker share failed");
            }));
            assertEquals("worker share failed", e.getMessage());
            // The team still works afterwards.
            AtomicIntegerArray hits = new AtomicIntegerArray(100);
            team.run(100, (from, to) -> {
                for (int i = from; i < to; i++) hits.incrementAndGet(i);
            });
            for (int i = 0; i < 100; i++) assertEquals(1, hits.get(i));
        }
    }

    @Test
    void rejectsBadSizes() {
        assertThrows(IllegalArgumentException.class, () -> new ThreadTeam(0));
    }
}
