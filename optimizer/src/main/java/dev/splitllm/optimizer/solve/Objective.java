package dev.splitllm.optimizer.solve;

import java.util.Locale;

/** What the planner optimises once every constraint holds. */
public enum Objective {
    /** Lowest per-token latency at the planned maximum context (paper O1); then TTFT, quality, edge memory. */
    MIN_LATENCY("min-latency"),
    /** Longest supported sequence (paper O3); then per-token latency, TTFT, quality, edge memory. */
    MAX_SEQ_LEN("max-seq-len"),
    /** Highest agreement, then lowest KL (paper O2); then per-token latency, TTFT, edge memory. */
    MAX_QUALITY("max-quality");

    public final String id;

    Objective(String id) {
        this.id = id;
    }

    /** Parses "min-latency", "max-seq-len", "max-quality" (also "latency", "seq-len", "quality"). */
    public static Objective parse(String s) {
        String t = s == null ? "" : s.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (Objective o : values()) {
            if (o.id.equals(t) || o.id.substring(4).equals(t)) return o;
        }
        throw new IllegalArgumentException("unknown objective '" + s + "' (expected min-latency, max-seq-len or max-quality)");
    }
}
