package dev.splitllm.edge;

import java.util.Locale;

/**
 * One move of a session's cut, as the edge saw it: where from and to, before which step, how the
 * KV travelled (up, down, or recomputed on the edge), its bytes, what it cost, the cost model's
 * prediction, and why it happened. A refused or failed move has {@code error} set and left the
 * session on its old cut.
 *
 * @param how         {@code up} (KV sent to the cloud), {@code down} (KV sent by the cloud) or
 *                    {@code recompute} (rebuilt on the edge from the token history)
 * @param predictedMs the cost model's prediction for the way taken, or NaN without one
 * @param reason      {@code script}, {@code request}, {@code adaptive} or {@code memory}
 */
public record MoveEvent(int from, int to, long step, int positions, String how, long bytesUp, long bytesDown, double ms,
                        double cloudMs, double predictedMs, String reason, String error) {

    /** {@code move: l=3→1 at step 40, 41 KB up, 12 ms}, the per-step log line (or the refusal). */
    @Override
    public String toString() {
        if (error != null) {
            return String.format(Locale.ROOT, "move: l=%d→%d at step %d refused, staying at l=%d: %s", from, to, step, from, error);
        }
        long bytes = "up".equals(how) ? bytesUp : bytesDown;
        String dir = "up".equals(how) ? "up" : "down";
        String extra = "recompute".equals(how) ? String.format(Locale.ROOT, " (recomputed %d positions on the edge)", positions) : "";
        return String.format(Locale.ROOT, "move: l=%d→%d at step %d, %d KB %s, %.0f ms%s", from, to, step,
                Math.round(bytes / 1000.0), dir, ms, extra);
    }
}
