package dev.splitllm.quantization.protocol;

/**
 * The first line of the answer to {@code POST /v1/sessions/{id}/handoff}: the cloud holds the
 * whole model's KV now (cut 0, a new epoch) and generates alone. {@link TokenMessage} lines follow,
 * one per token, then one {@link GenerationEnd} line.
 *
 * @param sessionId the session
 * @param epoch     the session's new epoch
 * @param positions positions whose KV the cloud took over
 * @param mirrored  of them, positions the mirror already held (their KV did not cross at the hand-off)
 * @param kvBytes   bytes of the SPKV frame that came up with the request
 * @param cloudMs   time the cloud spent taking the KV over
 */
public record HandedOff(String type, String sessionId, long epoch, int positions, int mirrored, long kvBytes, double cloudMs) {
    public static final String TYPE = "handed_off";

    public HandedOff(String sessionId, long epoch, int positions, int mirrored, long kvBytes, double cloudMs) {
        this(TYPE, sessionId, epoch, positions, mirrored, kvBytes, cloudMs);
    }
}
