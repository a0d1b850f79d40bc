package dev.splitllm.quantization.wire;

/** Which part of generation a frame belongs to. The code travels in the frame header. */
public enum Phase {
    /** The prompt's hidden states, T = prompt length. */
    PREFILL(0),
    /** One generated token's hidden state per step. */
    DECODE(1);

    /** Wire code. */
    public final int code;

    Phase(int code) {
        this.code = code;
    }

    /** The phase with this wire code, or null. */
    public static Phase fromCode(int code) {
        for (Phase p : values()) {
            if (p.code == code) {
                return p;
            }
        }
        return null;
    }
}
