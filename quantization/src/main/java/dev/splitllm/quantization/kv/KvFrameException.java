package dev.splitllm.quantization.kv;

import dev.splitllm.quantization.wire.FrameException;

/**
 * A KV delta frame that cannot be accepted: a {@link FrameException} (so a receiver handles both
 * frame kinds alike) with a finer, machine-readable {@link KvReason}.
 */
public final class KvFrameException extends FrameException {
    private static final long serialVersionUID = 1L;

    /** Why a KV delta frame was rejected. */
    public enum KvReason {
        /** Fewer bytes than the header or the declared payload need. */
        TRUNCATED(Reason.TRUNCATED),
        /** More bytes than the declared payload. */
        TRAILING_BYTES(Reason.TRAILING_BYTES),
        /** Frame bigger than the receiver's limit. */
        TOO_LARGE(Reason.TOO_LARGE),
        /** Not {@code SPKV}. */
        BAD_MAGIC(Reason.BAD_MAGIC),
        /** A version this decoder does not speak. */
        BAD_VERSION(Reason.BAD_VERSION),
        /** CRC32C mismatch. */
        BAD_CHECKSUM(Reason.BAD_CHECKSUM),
        /** A header field out of range (flags, reserved, epoch, start, counts). */
        BAD_FIELD(Reason.BAD_FIELD),
        /** Kind, bits, window or group not a valid {@link KvSpec}. */
        BAD_KIND(Reason.BAD_CODEC),
        /** The layer range is not the one the receiver expects. */
        WRONG_LAYERS(Reason.BAD_FIELD),
        /** Positions at or beyond the receiver's session length. */
        BEYOND_SESSION(Reason.BAD_FIELD),
        /** Rows of another width than the receiver's kvDim (head count x head size). */
        WRONG_KV_DIM(Reason.BAD_FIELD),
        /** An epoch other than the one the receiver is in. */
        STALE_EPOCH(Reason.BAD_FIELD),
        /** Payload length or content not as the header and kind require. */
        BAD_PAYLOAD(Reason.BAD_PAYLOAD);

        private final Reason base;

        KvReason(Reason base) {
            this.base = base;
        }

        /** The activation-frame reason this one maps to. */
        public Reason base() {
            return base;
        }
    }

    private final KvReason kvReason;

    public KvFrameException(KvReason reason, String message) {
        super(reason.base(), "KV " + reason + ": " + message);
        this.kvReason = reason;
    }

    public KvReason kvReason() {
        return kvReason;
    }
}
