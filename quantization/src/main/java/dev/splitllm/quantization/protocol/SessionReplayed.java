package dev.splitllm.quantization.protocol;

/**
 * Response of {@code POST /v1/sessions/{id}/replay}: the session lives on this replica now, its
 * KV cache rebuilt by one batched forward over every replayed position, and the token of the last
 * replayed step (the one in flight when the link dropped) sampled as before.
 *
 * @param sessionId  unchanged
 * @param epoch      the session's new epoch (the request's plus one)
 * @param step       the last replayed step: {@code token} answers it
 * @param token      the token sampled after that step, as the lost replica would have
 * @param positions  positions rebuilt (the session's position now)
 * @param frames     frames replayed
 * @param bytes      frame bytes replayed
 * @param cloudMs    time the replica spent: decoding the frames, the batched forward, sampling
 * @param accepted   when the last step is a DRAFT frame, how many of its drafts were kept (as in
 *                   {@link TokenMessage#accepted}); else 0
 * @param maxFrameVersion newest uplink frame version this replica decodes for the session (3: compact
 *                   frames, which the edge may go on sending); 0 from an older replica, which takes
 *                   versions 1 and 2 only
 */
public record SessionReplayed(String sessionId, long epoch, long step, int token, int positions, int frames,
                              long bytes, double cloudMs, int accepted, int maxFrameVersion) {

    /** From a replica without compact frames (maxFrameVersion 0). */
    public SessionReplayed(String sessionId, long epoch, long step, int token, int positions, int frames, long bytes,
                           double cloudMs, int accepted) {
        this(sessionId, epoch, step, token, positions, frames, bytes, cloudMs, accepted, 0);
    }

    /** A replay whose last step carried no drafts. */
    public SessionReplayed(String sessionId, long epoch, long step, int token, int positions, int frames, long bytes,
                           double cloudMs) {
        this(sessionId, epoch, step, token, positions, frames, bytes, cloudMs, 0);
    }
}
