package dev.splitllm.edge;

/**
 * One failover of a session: the edge replayed its log to another replica (the old one was lost,
 * drained, or holds a stale copy) and the new replica answered the step in flight.
 *
 * @param step      the step in flight, answered by the replay
 * @param epoch     the session's epoch after the replay
 * @param frames    frames replayed
 * @param positions positions rebuilt with one batched forward
 * @param bytes     bytes sent (the log plus its head)
 * @param replayMs  from the replay request to its answer, at the edge
 * @param cloudMs   the new replica's time for it (decode, one batched forward, sampling)
 * @param recoveryMs from the moment the link was found lost to the step's answer (reconnects included)
 */
public record Failover(long step, long epoch, int frames, int positions, long bytes, double replayMs, double cloudMs,
                       double recoveryMs) {
}
