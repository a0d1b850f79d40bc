package dev.splitllm.optimizer.cost;

import dev.splitllm.optimizer.profile.CodecPoint;

/**
 * Bits a frame costs on the uplink: calibrated bits per element times T x d, plus the fixed
 * per-frame overhead of the calibration table. An all-edge plan sends nothing.
 */
public final class PayloadModel {
    private final int dim;
    private final int frameOverheadBytes;

    public PayloadModel(int dim, int frameOverheadBytes) {
        this.dim = dim;
        this.frameOverheadBytes = frameOverheadBytes;
    }

    /** Bits of the prefill frame for {@code tokens} prompt tokens (0 when {@code point} is null: nothing is sent). */
    public double prefillBits(CodecPoint point, int tokens) {
        return point == null ? 0 : point.prefillBitsPerElement() * tokens * dim + 8.0 * frameOverheadBytes;
    }

    /** Bits of a drafted token id in a DRAFT frame. */
    public static final int DRAFT_ID_BITS = 32;

    /**
     * Bits of a DRAFT frame with {@code k} drafts: k + 1 rows at the decode rate, the k drafted ids
     * and one frame overhead (k = 0: {@link #decodeBits}).
     */
    public double draftBits(CodecPoint point, int k) {
        return point == null ? 0 : point.decodeBitsPerElement() * (k + 1) * dim + 8.0 * frameOverheadBytes + (double) DRAFT_ID_BITS * k;
    }

    /** Bits of one decode-step frame. */
    public double decodeBits(CodecPoint point) {
        return point == null ? 0 : point.decodeBitsPerElement() * dim + 8.0 * frameOverheadBytes;
    }
}
