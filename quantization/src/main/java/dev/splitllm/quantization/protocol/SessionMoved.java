package dev.splitllm.quantization.protocol;

/**
 * The JSON head of the answer to {@code POST /v1/sessions/{id}/move}: the cut moved and the session
 * entered a new epoch. For a move toward the edge with {@code down=transfer} an SPKV frame of
 * {@code kvBytes} follows the head (docs/PROTOCOL.md, "Moving the cut").
 *
 * @param sessionId  unchanged
 * @param epoch      the session's new epoch: frames and KV of earlier epochs are refused from now on
 * @param splitLayer the session's cut now
 * @param positions  positions whose KV moved
 * @param kvBytes    bytes of the SPKV frame that follows (0 when none)
 * @param cloudMs    time the cloud spent: decoding, copying and encoding KV
 * @param resumeTicket the session's resume ticket for its new cut (a replay after the move names
 *                   the new cut and presents this ticket), or null from a server that issues none
 */
public record SessionMoved(String sessionId, long epoch, int splitLayer, int positions, long kvBytes, double cloudMs,
                           String resumeTicket) {
    /** Without a ticket. */
    public SessionMoved(String sessionId, long epoch, int splitLayer, int positions, long kvBytes, double cloudMs) {
        this(sessionId, epoch, splitLayer, positions, kvBytes, cloudMs, null);
    }
}
