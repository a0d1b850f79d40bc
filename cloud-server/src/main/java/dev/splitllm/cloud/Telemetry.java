package dev.splitllm.cloud;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-session step timings and bytes for the dashboard, as the server sees them. The server
 * measures its own share of a step (the cloud blocks and sampling, plus decoding the frame) and
 * the gap between sending a token and receiving the next frame; that gap holds the edge's
 * blocks, its encoding and both link directions, which the protocol does not report apart.
 * Bounded: the last {@link #TIMELINE} steps per session, traces of closed sessions dropped.
 */
final class Telemetry {
    /** Steps kept per session for the timeline and its percentiles. */
    static final int TIMELINE = 240;

    /** One answered step. {@code gapMs} is NaN for a prefill (nothing came before it). */
    record Step(long step, String phase, double atMs, int bytesUp, int bytesDown, double cloudMs, double serverMs, double gapMs) {}

    private final long startNanos = System.nanoTime();
    private final Map<String, Trace> traces = new ConcurrentHashMap<>();

    /** Records an answered step of {@code s} (replays of a step are counted as bytes only). */
    void step(CloudSession s, CloudSession.Outcome out, int bytesUp, int bytesDown, long serverNanos) {
        Trace t = traces.get(s.id);
        if (t == null) {
            traces.values().removeIf(x -> x.session.closed()); // keeps the map to the open sessions
            t = traces.computeIfAbsent(s.id, k -> new Trace(s));
        }
        t.add(out, bytesUp, bytesDown, serverNanos, (System.nanoTime() - startNanos) / 1e6);
    }

    /** The trace of an open session, or null if it has not answered a frame yet. */
    Trace trace(CloudSession s) {
        return traces.get(s.id);
    }

    /** One session's recent steps and its totals. */
    static final class Trace {
        final CloudSession session;
        private final ArrayDeque<Step> steps = new ArrayDeque<>();
        private long bytesUp;
        private long bytesDown;
        private long answered;
        private long lastSentNanos;

        Trace(CloudSession session) {
            this.session = session;
        }

        synchronized void add(CloudSession.Outcome out, int up, int down, long serverNanos, double atMs) {
            bytesUp += up;
            bytesDown += down;
            long now = System.nanoTime();
            if (out.replayed()) {
                lastSentNanos = now;
                return;
            }
            answered++;
            double serverMs = serverNanos / 1e6;
            // Time since our previous answer left, less our own time on this frame.
            double gap = lastSentNanos == 0 ? Double.NaN : Math.max(0, (now - lastSentNanos) / 1e6 - serverMs);
            lastSentNanos = now;
            steps.addLast(new Step(out.answer().step(), out.phase().name().toLowerCase(java.util.Locale.ROOT), atMs, up, down,
                    out.answer().cloudMs(), serverMs, gap));
            while (steps.size() > TIMELINE) steps.removeFirst();
        }

        synchronized List<Step> steps() {
            return new ArrayList<>(steps);
        }

        synchronized long bytesUp() {
            return bytesUp;
        }

        synchronized long bytesDown() {
            return bytesDown;
        }

        synchronized long answered() {
            return answered;
        }
    }

    /** p50, p90 and p99 (nearest rank) of the values, or NaNs for none. */
    static double[] percentiles(double[] values) {
        double[] v = Arrays.stream(values).filter(d -> !Double.isNaN(d)).sorted().toArray();
        if (v.length == 0) return new double[] {Double.NaN, Double.NaN, Double.NaN};
        return new double[] {rank(v, 0.50), rank(v, 0.90), rank(v, 0.99)};
    }

    private static double rank(double[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
