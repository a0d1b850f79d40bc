package dev.splitllm.quantization.protocol;

/**
 * The JSON head of {@code POST /v1/sessions/{id}/handoff} (docs/PROTOCOL.md, "Hand-off and
 * restore"): the edge gives the rest of the generation to the cloud, which moves the cut to 0 and
 * generates alone, streaming the tokens back. Between two steps, like a move. After the head, the
 * body holds the SPKV frame of the edge's layers [0, fromSplit) for positions [mirrored, positions)
 * (nothing when the mirror already holds every position, or when fromSplit is 0).
 *
 * @param fromSplit the session's cut as the edge holds it
 * @param epoch     the session's epoch as the edge holds it; the KV frame carries the same
 * @param step      the next step the edge would send (no step in flight)
 * @param positions the session's position
 * @param mirrored  positions of the edge's layers the edge has mirrored to the cloud (0 without a mirror)
 * @param kv        the KV kind of the frame up ({@code fp32} or {@code kivi:...})
 * @param maxTokens tokens the cloud may still generate (the hand-off's own limit; at least 1)
 * @param ignoreEos true to run on past the end-of-sequence token
 * @param prompt    the prompt's token ids (kept so that a restore needs only the session id), or null
 */
public record HandOffRequest(int fromSplit, long epoch, long step, int positions, int mirrored, String kv, int maxTokens,
                             boolean ignoreEos, int[] prompt) {
}
