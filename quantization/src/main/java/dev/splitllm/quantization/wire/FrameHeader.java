package dev.splitllm.quantization.wire;

import dev.splitllm.quantization.codec.ActivationCodec;
import dev.splitllm.quantization.codec.CodecSpec;

/**
 * Everything in a frame but the activations.
 *
 * @param sessionId     64-bit session tag (the runtime maps its unguessable session ids to it)
 * @param step          step number, &gt;= 0; a resent frame repeats it so the receiver can drop duplicates
 * @param phase         prefill or decode
 * @param splitLayer    number of layers the sender ran (the cut), 0..65535
 * @param startPosition position of the first token in the sequence, &gt;= 0
 * @param tokens        T, &gt;= 1
 * @param dim           d, 1..{@link ActivationCodec#MAX_DIM}
 * @param codec         how the payload is encoded
 */
public record FrameHeader(long sessionId, long step, Phase phase, int splitLayer, int startPosition,
                          int tokens, int dim, CodecSpec codec) {

    /** Largest split layer a frame can name (u16). */
    public static final int MAX_SPLIT_LAYER = 0xffff;

    /** Checks every field; messages name the offending value. */
    public FrameHeader {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        if (phase == null || codec == null) {
            throw new IllegalArgumentException("phase and codec are required");
        }
        if (splitLayer < 0 || splitLayer > MAX_SPLIT_LAYER) {
            throw new IllegalArgumentException("split layer must be in 0.." + MAX_SPLIT_LAYER + ", got " + splitLayer);
        }
        if (startPosition < 0) {
            throw new IllegalArgumentException("start position must be >= 0, got " + startPosition);
        }
        if (tokens < 1 || (long) startPosition + tokens > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tokens must be >= 1 and end below 2^31, got " + tokens + " from " + startPosition);
        }
        if (dim < 1 || dim > ActivationCodec.MAX_DIM) {
            throw new IllegalArgumentException("dim must be in 1.." + ActivationCodec.MAX_DIM + ", got " + dim);
        }
    }
}
