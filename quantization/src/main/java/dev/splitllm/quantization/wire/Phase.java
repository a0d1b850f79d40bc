package dev.splitllm.quantization.wire;

/** Which part of generation a frame belongs to. The code travels in the frame header. */
public enum Phase {
    /** The prompt's hidden states, T = prompt length. */
    PREFILL(0),
    /** One generated token's hidden state per step. */
    DECODE(1),
    /**
     * Speculation: the hidden state of the last accepted token followed by those of k drafted
     * tokens (T = k + 1), plus the drafted ids; each row is encoded on its own, exactly as a
     * DECODE frame would encode it (docs/WIRE.md, "Draft frames").
     */
    DRAFT(2);

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
