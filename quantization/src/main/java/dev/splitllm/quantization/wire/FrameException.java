package dev.splitllm.quantization.wire;

/** A frame that cannot be accepted, with a machine-readable {@link Reason} and a human message. */
public class FrameException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why a frame was rejected. */
    public enum Reason {
        /** Fewer bytes than the header or the declared lengths need. */
        TRUNCATED,
        /** More bytes than the declared lengths. */
        TRAILING_BYTES,
        /** The first four bytes are not the frame magic. */
        BAD_MAGIC,
        /** A version this decoder does not speak. */
        BAD_VERSION,
        /** CRC32C mismatch. */
        BAD_CHECKSUM,
        /** Frame, T, d or T×d above the receiver's limits. */
        TOO_LARGE,
        /** A header field out of range or inconsistent. */
        BAD_FIELD,
        /** The codec-parameter block does not describe a valid codec. */
        BAD_CODEC,
        /** A session-channel frame without a channel list, and none stored for the session. */
        MISSING_CHANNELS,
        /** The payload does not follow the codec's layout. */
        BAD_PAYLOAD,
        /** A valid frame needing a stage this platform lacks (zstd without its native library). */
        UNSUPPORTED
    }

    private final Reason reason;

    /** A rejection for {@code reason}. */
    public FrameException(Reason reason, String message) {
        super(reason + ": " + message);
        this.reason = reason;
    }

    /** Why the frame was rejected. */
    public Reason reason() {
        return reason;
    }
}
