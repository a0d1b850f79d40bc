package dev.splitllm.quantization.protocol;

/**
 * Downlink text message: the token sampled after the frame of step {@code step}.
 *
 * @param type    always "token"
 * @param step    the uplink frame's step number this answers (idempotent: a resent frame gets the same answer)
 * @param token   sampled token id
 * @param cloudMs time the cloud spent on the step (decode, blocks, head, sampling)
 * @param accepted for a DRAFT frame, how many of its drafted tokens the cloud accepted (they come
 *                 before {@code token} in the stream); 0 for every other frame
 */
public record TokenMessage(String type, long step, int token, double cloudMs, int accepted) {
    public static final String TYPE = "token";

    public TokenMessage(long step, int token, double cloudMs) {
        this(TYPE, step, token, cloudMs, 0);
    }

    public TokenMessage(long step, int token, double cloudMs, int accepted) {
        this(TYPE, step, token, cloudMs, accepted);
    }
}
