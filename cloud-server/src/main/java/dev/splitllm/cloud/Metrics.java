package dev.splitllm.cloud;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The server's counters and step-latency histograms, rendered in the Prometheus text
 * exposition format at {@code GET /metrics}. Lock-free: updated from many session threads.
 */
final class Metrics {
    /** Upper bounds of the latency buckets, in seconds. */
    static final double[] BUCKETS = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};

    final LongAdder sessionsCreated = new LongAdder();
    final LongAdder sessionsClosed = new LongAdder();
    final LongAdder sessionsExpired = new LongAdder();
    final LongAdder bytesIn = new LongAdder();
    final LongAdder bytesOut = new LongAdder();
    final LongAdder tokensOut = new LongAdder();
    final LongAdder completions = new LongAdder();
    /** Tokens drafted by edges in DRAFT frames, and how many of them the cloud accepted. */
    final LongAdder draftedTokens = new LongAdder();
    final LongAdder acceptedTokens = new LongAdder();
    /** Moves of a session's cut (#14), and the KV bytes they carried up and down. */
    final LongAdder moves = new LongAdder();
    final LongAdder moveKvBytes = new LongAdder();
    /** Sessions handed off to the cloud (#14). */
    final LongAdder handoffs = new LongAdder();
    private final Map<String, LongAdder> frames = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final Map<String, Histogram> stepSeconds = new ConcurrentHashMap<>();
    private final LongSupplier activeSessions;
    private final LongSupplier reservedKvBytes;

    Metrics(LongSupplier activeSessions, LongSupplier reservedKvBytes) {
        this.activeSessions = activeSessions;
        this.reservedKvBytes = reservedKvBytes;
    }

    void frame(String phase, int bytes) {
        frames.computeIfAbsent(phase, k -> new LongAdder()).increment();
        bytesIn.add(bytes);
    }

    void error(String code) {
        errors.computeIfAbsent(code, k -> new LongAdder()).increment();
    }

    void step(String phase, long nanos) {
        stepSeconds.computeIfAbsent(phase, k -> new Histogram()).observe(nanos / 1e9);
    }

    String render() {
        StringBuilder sb = new StringBuilder(2048);
        gauge(sb, "splitllm_sessions_active", "Sessions currently open.", activeSessions.getAsLong());
        gauge(sb, "splitllm_kv_reserved_bytes", "KV-cache bytes reserved by open sessions.", reservedKvBytes.getAsLong());
        counter(sb, "splitllm_sessions_created_total", "Sessions created.", sessionsCreated.sum());
        counter(sb, "splitllm_sessions_closed_total", "Sessions closed by their client.", sessionsClosed.sum());
        counter(sb, "splitllm_sessions_expired_total", "Sessions closed for idleness.", sessionsExpired.sum());
        counter(sb, "splitllm_bytes_in_total", "Uplink frame bytes received.", bytesIn.sum());
        counter(sb, "splitllm_bytes_out_total", "Downlink message bytes sent.", bytesOut.sum());
        counter(sb, "splitllm_tokens_out_total", "Tokens sent to edge sessions.", tokensOut.sum());
        counter(sb, "splitllm_completions_total", "Plain completion requests served.", completions.sum());
        counter(sb, "splitllm_draft_tokens_total", "Tokens drafted by edges in DRAFT frames.", draftedTokens.sum());
        counter(sb, "splitllm_draft_accepted_total", "Drafted tokens the cloud accepted.", acceptedTokens.sum());
        counter(sb, "splitllm_moves_total", "Moves of a session's cut.", moves.sum());
        counter(sb, "splitllm_move_kv_bytes_total", "KV bytes moved up and down by moves of the cut.", moveKvBytes.sum());
        counter(sb, "splitllm_handoffs_total", "Sessions handed off to the cloud.", handoffs.sum());
        sb.append("# HELP splitllm_frames_total Uplink frames accepted, by phase.\n# TYPE splitllm_frames_total counter\n");
        frames.forEach((k, v) -> sb.append("splitllm_frames_total{phase=\"").append(k).append("\"} ").append(v.sum()).append('\n'));
        sb.append("# HELP splitllm_errors_total Refused requests and frames, by reason.\n# TYPE splitllm_errors_total counter\n");
        errors.forEach((k, v) -> sb.append("splitllm_errors_total{code=\"").append(k).append("\"} ").append(v.sum()).append('\n'));
        sb.append("# HELP splitllm_step_seconds Cloud time per session step, by phase.\n# TYPE splitllm_step_seconds histogram\n");
        stepSeconds.forEach((phase, h) -> h.render(sb, "splitllm_step_seconds", phase));
        return sb.toString();
    }

    private static void gauge(StringBuilder sb, String name, String help, long v) {
        sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" gauge\n")
                .append(name).append(' ').append(v).append('\n');
    }

    private static void counter(StringBuilder sb, String name, String help, long v) {
        sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
                .append(name).append(' ').append(v).append('\n');
    }

    /** Cumulative-bucket histogram. */
    static final class Histogram {
        private final AtomicLongArray counts = new AtomicLongArray(BUCKETS.length + 1);
        private final LongAdder sumMicros = new LongAdder();

        void observe(double seconds) {
            int i = 0;
            while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
            counts.incrementAndGet(i);
            sumMicros.add(Math.round(seconds * 1e6));
        }

        void render(StringBuilder sb, String name, String phase) {
            long cumulative = 0;
            for (int i = 0; i <= BUCKETS.length; i++) {
                cumulative += counts.get(i);
                String le = i < BUCKETS.length ? String.format(Locale.ROOT, "%s", BUCKETS[i]) : "+Inf";
                sb.append(name).append("_bucket{phase=\"").append(phase).append("\",le=\"").append(le).append("\"} ")
                        .append(cumulative).append('\n');
            }
            sb.append(name).append("_sum{phase=\"").append(phase).append("\"} ")
                    .append(String.format(Locale.ROOT, "%.6f", sumMicros.sum() / 1e6)).append('\n');
            sb.append(name).append("_count{phase=\"").append(phase).append("\"} ").append(cumulative).append('\n');
        }
    }
}
