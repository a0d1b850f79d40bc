package dev.splitllm.quantization.wire;

import dev.splitllm.quantization.codec.ByteReader;
import dev.splitllm.quantization.codec.ByteWriter;
import dev.splitllm.quantization.codec.CodecKind;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CorruptPayloadException;

/**
 * The codec-parameter block: 20 bytes in a version-1 frame, 32 in a version-2 frame (written only
 * when the spec uses a stage version 1 cannot express: group, mean, ans, zstd=prefill):
 * <pre>
 * +0  u8   kind (0 fp32, 1 fp16, 2 q8_0, 3 uniform, 4 tabq)
 * +1  u8   flags: bit0 zstd, bit1 rotation, bit2 session channels; other bits 0
 * +2  u8   uniform bit-width (uniform) else 0
 * +3  u8   TAB-Q bit set, bit w-1 = width w allowed (tabq) else 0
 * +4  f32  epsilon (tabq) else 0
 * +8  f32  tau; +inf when threshold splitting is off
 * +12 i64  rotation seed (rotation) else 0
 * version 2 only; flags gain bit3 mean, bit4 ans, bit5 zstd on prefill (T &gt;= 2) frames only, bit6 step:
 * +20 u8   log2 of the group size (4..7), 0 = no groups
 * +21 u8   reserved 0;  +22 u16 reserved 0
 * +24 i64  codec tables hash (mean or ans) else 0
 * </pre>
 * Decoding runs the bytes through {@link CodecSpec}'s constructor, so the wire accepts exactly
 * the specs the string form accepts.
 */
final class CodecParams {
    /** Size of the block in version 1. */
    static final int SIZE = 20;
    /** Size of the block in version 2. */
    static final int SIZE_V2 = 32;

    private static final int ZSTD = 1;
    private static final int ROTATION = 2;
    private static final int SESSION_CHANNELS = 4;
    private static final int MEAN = 8;
    private static final int ANS = 16;
    private static final int ZSTD_PREFILL = 32;
    private static final int STEP = 64;

    private CodecParams() {}

    /** True when {@code spec} needs the version-2 block. */
    static boolean needsV2(CodecSpec spec) {
        return spec.group() != 0 || spec.mean() || spec.ans() || spec.zstdPrefillOnly() || spec.tablesHash() != 0 || spec.step();
    }

    /** Size of the block {@link #write} writes for {@code spec}. */
    static int size(CodecSpec spec) {
        return needsV2(spec) ? SIZE_V2 : SIZE;
    }

    static void write(CodecSpec spec, ByteWriter out) {
        boolean v2 = needsV2(spec);
        out.u8(spec.kind().code);
        out.u8((spec.zstd() ? ZSTD : 0) | (spec.rotation() ? ROTATION : 0) | (spec.sessionChannels() ? SESSION_CHANNELS : 0)
                | (spec.mean() ? MEAN : 0) | (spec.ans() ? ANS : 0) | (spec.zstdPrefillOnly() ? ZSTD_PREFILL : 0)
                | (spec.step() ? STEP : 0));
        out.u8(spec.uniformBits());
        out.u8(spec.bitMask());
        out.f32(spec.epsilon());
        out.f32(spec.tau());
        out.i64(spec.rotationSeed());
        if (v2) {
            out.u8(spec.group() == 0 ? 0 : Integer.numberOfTrailingZeros(spec.group()));
            out.u8(0);
            out.u16(0);
            out.i64(spec.tablesHash());
        }
    }

    /** Reads a version-1 (20-byte) block. */
    static CodecSpec read(ByteReader in) throws FrameException, CorruptPayloadException {
        return read(in, 1);
    }

    /** Reads the block of a frame of {@code version} (1: 20 bytes, 2: 32 bytes). */
    static CodecSpec read(ByteReader in, int version) throws FrameException, CorruptPayloadException {
        int kindCode = in.u8("codec kind");
        int flags = in.u8("codec flags");
        int uniformBits = in.u8("uniform bits");
        int bitMask = in.u8("bit set");
        float epsilon = in.f32("epsilon");
        float tau = in.f32("tau");
        long seed = in.i64("rotation seed");
        int groupLog = 0;
        long tables = 0;
        if (version >= 2) {
            groupLog = in.u8("group size");
            int r1 = in.u8("reserved");
            int r2 = in.u16("reserved");
            tables = in.i64("codec tables hash");
            if (r1 != 0 || r2 != 0) {
                throw new FrameException(FrameException.Reason.BAD_CODEC, "non-zero reserved bytes in the codec parameters");
            }
            if (groupLog != 0 && (groupLog < 4 || groupLog > 7)) {
                throw new FrameException(FrameException.Reason.BAD_CODEC, "group size 2^" + groupLog + " outside 16..128");
            }
        }
        int known = version >= 2 ? ZSTD | ROTATION | SESSION_CHANNELS | MEAN | ANS | ZSTD_PREFILL | STEP : ZSTD | ROTATION | SESSION_CHANNELS;
        CodecKind kind = CodecKind.fromCode(kindCode);
        if (kind == null) {
            throw new FrameException(FrameException.Reason.BAD_CODEC, "unknown codec kind " + kindCode);
        }
        if ((flags & ~known) != 0) {
            throw new FrameException(FrameException.Reason.BAD_CODEC, "unknown codec flags 0x" + Integer.toHexString(flags));
        }
        if (tau == 0f) {
            throw new FrameException(FrameException.Reason.BAD_CODEC, "tau 0 is written as +inf on the wire");
        }
        boolean mean = (flags & MEAN) != 0, ans = (flags & ANS) != 0;
        if ((mean || ans) && tables == 0) {
            throw new FrameException(FrameException.Reason.BAD_CODEC, "mean or ans without a codec tables hash");
        }
        try {
            CodecSpec spec = new CodecSpec(kind, uniformBits, epsilon, bitMask, tau, (flags & SESSION_CHANNELS) != 0,
                    (flags & ROTATION) != 0, seed, (flags & ZSTD) != 0, groupLog == 0 ? 0 : 1 << groupLog, mean, ans,
                    (flags & ZSTD_PREFILL) != 0, tables, (flags & STEP) != 0);
            if (version >= 2 && !needsV2(spec)) {
                throw new FrameException(FrameException.Reason.BAD_CODEC, "a version-2 frame for a version-1 codec " + spec);
            }
            return spec;
        } catch (IllegalArgumentException e) {
            throw new FrameException(FrameException.Reason.BAD_CODEC, e.getMessage());
        }
    }
}
