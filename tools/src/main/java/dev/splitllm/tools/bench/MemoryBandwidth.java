package dev.splitllm.tools.bench;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.ThreadTeam;

/**
 * The machine's streaming read bandwidth as the engine sees it: a dot product of a float buffer
 * several times the size of the last-level cache with a small vector (so only the buffer
 * streams from memory), split over a {@link ThreadTeam} exactly like a decode matmul, with the
 * engine's own kernels. Best of a few passes after a warm-up pass, in bytes per second.
 */
public final class MemoryBandwidth {
    private MemoryBandwidth() {}

    /** Default buffer: 512 MiB, far beyond any last-level cache here. */
    public static final int DEFAULT_MIB = 512;

    /** Measured read bandwidth in bytes/s over a {@code mib} MiB buffer with {@code team}. */
    public static double measure(Kernels k, ThreadTeam team, int mib, int passes) {
        int cols = 4096;
        int rows = (int) ((long) mib * 1048576 / 4 / cols);
        float[] buf = new float[rows * cols];
        for (int i = 0; i < buf.length; i += 1024) buf[i] = 1e-3f * (i & 1023);
        float[] x = new float[cols];
        java.util.Arrays.fill(x, 1f);
        float[] out = new float[rows];
        double best = 0;
        for (int p = 0; p <= passes; p++) {
            long t0 = System.nanoTime();
            team.run(rows, (from, to) -> {
                for (int r = from; r < to; r++) out[r] = k.dotF32(buf, r * cols, x, 0, cols);
            });
            double s = (System.nanoTime() - t0) / 1e9;
            if (p > 0) best = Math.max(best, 4.0 * buf.length / s);
        }
        return best;
    }
}
