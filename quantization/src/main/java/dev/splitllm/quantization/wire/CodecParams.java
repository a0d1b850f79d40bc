package dev.splitllm.quantization.wire;

import dev.splitllm.quantization.codec.ByteReader;
import dev.splitllm.quantization.codec.ByteWriter;
import dev.splitllm.quantization.codec.CodecKind;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CorruptPayloadException;

/**
 * The 20-byte codec-parameter block of a version-1 frame:
 * <pre>
 * +0  u8   kind (0 fp32, 1 fp16, 2 q8_0, 3 uniform, 4 tabq)
 * +1  u8   flags: bit0 zstd, bit1 rotation, bit2 session channels; other bits 0
 * +2  u8   uniform bit-width (uniform) else 0
 * +3  u8   TAB-Q bit set, bit w-1 = width w allowed (tabq) else 0
 * +4  f32  epsilon (tabq) else 0
 * +8  f32  tau; +inf when threshold splitting is off
 * +12 i64  rotation seed (rotation) else 0
 * </pre>
 * Decoding runs the bytes through {@link CodecSpec}'s constructor, so the wire accepts exactly
 * the specs the string form accepts.
 */
final class CodecParams {
    /** Size of the block in version 1. */
    static final int SIZE = 20;

    private static final int ZSTD = 1;
    private static final int ROTATION = 2;
    private static final int SESSION_CHANNELS = 4;

    private CodecParams() {}

    static void write(CodecSpec spec, ByteWriter out) {
        out.u8(spec.kind().code);
        out.u8((spec.zstd() ? ZSTD : 0) | (spec.rotation() ? ROTATION : 0) | (spec.sessionChannels() ? SESSION_CHANNELS : 0));
        out.u8(spec.uniformBits());
        out.u8(spec.bitMask());
        out.f32(spec.epsilon());
        out.f32(spec.tau());
        out.i64(spec.rotationSeed());
    }

    static CodecSpec read(ByteReader in) throws FrameException, CorruptPayloadException {
        int kindCode = in.u8("codec kind");
        int flags = in.u8("codec flags");
        int uniformBits = in.u8("uniform bits");
        int bitMask = in.u8("bit set");
        float epsilon = in.f32("epsilon");
        float tau = in.f32("tau");
        long seed = in.i64("rotation seed");
        CodecKind kind = CodecKind.fromCode(kindCode);
        if (kind == null) {
            throw new FrameException(FrameException.Reason.BAD_CODEC, "unknown codec kind " + kindCode);
        }
        if ((flags & ~(ZSTD | ROTATION | SESSION_CHANNELS)) != 0) {
            throw new FrameException(FrameException.Reason.BAD_CODEC, "unknown codec flags 0x" + Integer.toHexString(flags));
        }
        if (tau == 0f) {
            throw new FrameException(FrameException.Reason.BAD_CODEC, "tau 0 is written as +inf on the wire");
        }
        try {
            return new CodecSpec(kind, uniformBits, epsilon, bitMask, tau, (flags & SESSION_CHANNELS) != 0,
                    (flags & ROTATION) != 0, seed, (flags & ZSTD) != 0);
        } catch (IllegalArgumentException e) {
            throw new FrameException(FrameException.Reason.BAD_CODEC, e.getMessage());
        }
    }
}
