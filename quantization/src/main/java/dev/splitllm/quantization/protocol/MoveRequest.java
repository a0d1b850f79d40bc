package dev.splitllm.quantization.protocol;

/**
 * The JSON head of {@code POST /v1/sessions/{id}/move} (docs/PROTOCOL.md, "Moving the cut"): the
 * edge asks to move the session's cut from {@code fromSplit} to {@code toSplit} between two steps.
 * Toward the cloud ({@code toSplit < fromSplit}) an SPKV frame with the KV of layers
 * [toSplit, fromSplit) for positions [0, positions) follows the head in the body; toward the edge
 * the cloud drops those layers and, when {@code down} is {@value #TRANSFER}, sends their KV back in
 * the answer ({@value #RECOMPUTE}: the edge rebuilds it itself).
 *
 * @param fromSplit the session's cut as the edge holds it
 * @param toSplit   the cut after the move: a split of the model with at least one block on the cloud
 * @param epoch     the session's epoch as the edge holds it; the KV frame carries the same
 * @param step      the next step the edge will send (no step may be in flight during a move)
 * @param positions the session's position: every position moves
 * @param kv        the KV kind of the frame up, or wanted down ({@code fp32} or {@code kivi:...})
 * @param down      for a move toward the edge: {@value #TRANSFER} or {@value #RECOMPUTE}; else null
 * @param mirrored  toward the cloud: positions the edge's mirror already put on the cloud (the frame
 *                  up then covers [mirrored, positions) only); 0 or absent without a mirror
 */
public record MoveRequest(int fromSplit, int toSplit, long epoch, long step, int positions, String kv, String down,
                          Integer mirrored) {
    public static final String TRANSFER = "transfer";
    public static final String RECOMPUTE = "recompute";

    /** Without a mirror. */
    public MoveRequest(int fromSplit, int toSplit, long epoch, long step, int positions, String kv, String down) {
        this(fromSplit, toSplit, epoch, step, positions, kv, down, 0);
    }

    /** {@link #mirrored}, 0 when absent. */
    public int mirroredPositions() {
        return mirrored == null ? 0 : mirrored;
    }
}
