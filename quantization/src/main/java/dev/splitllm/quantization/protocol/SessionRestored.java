package dev.splitllm.quantization.protocol;

/**
 * The answer to {@code POST /v1/sessions/{id}/restore}: a new edge process takes a session back
 * (docs/PROTOCOL.md, "Hand-off and restore"). The cloud has stopped generating alone (if it was),
 * started a new epoch (frames of the old edge are refused from now on) and a fresh codec state; the
 * edge rebuilds the KV of layers [0, splitLayer) (from the tokens, or by a move with the KV sent
 * down) and continues with a DECODE step of the last token at {@code positions}, step {@code nextStep}.
 *
 * @param session   the session's parameters, as at creation, with the new epoch and the current cut
 * @param positions positions the session holds (prompt + tokens − 1: the last token is not in yet)
 * @param nextStep  the step the edge's next frame carries
 * @param prompt    the prompt's token ids if a hand-off left them, else null (the edge supplies them)
 * @param tokens    every token the session generated, in order
 * @param stop      why the cloud's own generation ended ({@link GenerationEnd#stop}), or null
 * @param mirrored  positions of the edge's layers [0, splitLayer) the cloud's mirror holds (0 for
 *                  none): {@code GET /v1/sessions/{id}/mirror} sends them down, and the new edge's
 *                  mirror goes on from there
 */
public record SessionRestored(SessionCreated session, int positions, long nextStep, int[] prompt, int[] tokens, String stop,
                              int mirrored) {
}
