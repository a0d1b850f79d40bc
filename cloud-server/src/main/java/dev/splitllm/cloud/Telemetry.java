package dev.splitllm.cloud;

import dev.splitllm.quantization.protocol.TimingMessage;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-session step timings and bytes for the dashboard. The server measures its own share of a
 * step (the cloud blocks and sampling, plus decoding the frame) and the gap between sending a
 * token and receiving the next frame. An edge that sends the optional timing message
 * ({@link TimingMessage}, docs/PROTOCOL.md) adds its own figures for a step: its blocks, its
 * encoding and its round trip, so the network's share is the round trip less the server's time.
 * Bounded: the last {@link #TIMELINE} steps (and timings) per session, traces of closed sessions
 * dropped.
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

    /**
     * Records the edge's timing of an answered step of {@code s}; null when taken, else why it was
     * refused. The step must be one the session has answered ({@code < nextStep}), still in the
     * window, and not timed before. It may arrive before the step itself is recorded here.
     */
    String timing(CloudSession s, TimingMessage m) {
        Trace t = traces.get(s.id);
        if (t == null) {
            traces.values().removeIf(x -> x.session.closed());
            t = traces.computeIfAbsent(s.id, k -> new Trace(s));
        }
        return t.timing(m, s.nextStep());
    }

    /** The trace of an open session, or null if it has not answered a frame yet. */
    Trace trace(CloudSession s) {
        return traces.get(s.id);
    }

    /** One session's recent steps and its totals. */
    static final class Trace {
        final CloudSession session;
        private final ArrayDeque<Step> steps = new ArrayDeque<>();
        /** The edge's timings by step: at most {@link #TIMELINE}, the steps in the window. */
        private final Map<Long, TimingMessage> timings = new HashMap<>();
        private long timed;
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

        synchronized String timing(TimingMessage m, long nextStep) {
            if (m.step() >= nextStep) {
                return "step " + m.step() + " has not been answered (the session's next step is " + nextStep + ")";
            }
            if (m.step() < nextStep - TIMELINE) {
                return "step " + m.step() + " is older than the last " + TIMELINE + " steps kept";
            }
            if (timings.containsKey(m.step())) {
                return "step " + m.step() + " already has a timing";
            }
            timings.keySet().removeIf(k -> k < nextStep - TIMELINE); // keeps the map to the window
            timings.put(m.step(), m);
            timed++;
            return null;
        }

        /** The edge's timing of {@code step}, or null if it sent none. */
        synchronized TimingMessage timingOf(long step) {
            return timings.get(step);
        }

        /** Timing messages taken for this session. */
        synchronized long timed() {
            return timed;
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
