package dev.splitllm.edge;

import java.util.Locale;

/**
 * The hand-off of a session to the cloud, as the edge saw it: the cut it left, before which step,
 * the positions whose KV the cloud took over, how many of them the mirror already held, the KV
 * bytes that went up at that moment, and what it took.
 */
public record HandOffEvent(int from, long step, int positions, int mirrored, long bytesUp, double ms, double cloudMs) {

    /** {@code handoff: l=3→cloud at step 40, 12 KB up (32 of 41 positions mirrored), 15 ms}. */
    @Override
    public String toString() {
        String mirror = mirrored > 0 ? String.format(Locale.ROOT, " (%d of %d positions mirrored)", mirrored, positions) : "";
        return String.format(Locale.ROOT, "handoff: l=%d→cloud at step %d, %d KB up%s, %.0f ms", from, step,
                Math.round(bytesUp / 1000.0), mirror, ms);
    }
}
