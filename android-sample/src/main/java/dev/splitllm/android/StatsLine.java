package dev.splitllm.android;

import dev.splitllm.edge.StepStats;
import java.util.Locale;

/**
 * The running figures shown under the story: edge compute per token (embedding + front blocks,
 * over every row the edge ran, prompt included), bytes sent up, and generated tokens per second
 * of step time (edge, encoding, network and cloud). Not thread-safe.
 */
public final class StatsLine {
    private int steps;
    private long rows;
    private double edgeMs;
    private double stepMs;
    private long bytesUp;

    /** Adds one step's figures. */
    public void add(StepStats s) {
        steps++;
        rows += s.tokens();
        edgeMs += s.edgeMs();
        stepMs += s.edgeMs() + s.encodeMs() + s.networkCloudMs();
        bytesUp += s.bytesUp();
    }

    /** Generated tokens so far (one per step). */
    public int tokens() {
        return steps;
    }

    public long bytesUp() {
        return bytesUp;
    }

    /** Mean edge milliseconds per processed token row. */
    public double edgeMsPerToken() {
        return rows == 0 ? 0 : edgeMs / rows;
    }

    /** Generated tokens per second of step time. */
    public double tokensPerSecond() {
        return stepMs <= 0 ? 0 : steps / (stepMs / 1000);
    }

    /** e.g. "edge 1.84 ms/token · 27,712 bytes up · 41.3 tok/s · 21 tokens". */
    public String text() {
        return String.format(Locale.ROOT, "edge %.2f ms/token · %,d bytes up · %.1f tok/s · %d tokens",
                edgeMsPerToken(), bytesUp, tokensPerSecond(), steps);
    }
}
