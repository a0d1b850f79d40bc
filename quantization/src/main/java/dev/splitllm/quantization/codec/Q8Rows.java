package dev.splitllm.quantization.codec;

import dev.splitllm.quantization.Half;

/**
 * The Q8_0 baseline on one row, in ggml's block layout: blocks of 32 values, each an fp16 scale
 * {@code s} then 32 signed bytes {@code q}; value = {@code q * s}. The scale is absmax / 127 rounded
 * <em>up</em> to fp16 (ggml rounds to nearest), so |q| never exceeds 127 and every value lies
 * within s/2 of its reconstruction. Rounding is half away from zero. A last block shorter than 32
 * (d not a multiple of 32) carries only its own values.
 */
final class Q8Rows {
    /** Values per block. */
    static final int BLOCK = 32;

    private Q8Rows() {}

    /** Bytes of one encoded row of d values. */
    static long rowBytes(int d) {
        return (long) (d + BLOCK - 1) / BLOCK * 2 + d;
    }

    /** Encodes {@code r[0, d)} at {@code dst[offset...]}; returns the bytes written. */
    static int encode(float[] r, int d, byte[] dst, int offset) {
        int out = offset;
        for (int start = 0; start < d; start += BLOCK) {
            int end = Math.min(d, start + BLOCK);
            float amax = 0f;
            for (int i = start; i < end; i++) {
                amax = Math.max(amax, Math.abs(r[i]));
            }
            short scaleHalf = ScaleMath.fp16Ceil(amax / 127f);
            float s = Half.toFloat(scaleHalf);
            dst[out] = (byte) scaleHalf;
            dst[out + 1] = (byte) (scaleHalf >>> 8);
            out += 2;
            float inv = s == 0f ? 0f : 1f / s;
            for (int i = start; i < end; i++) {
                float v = r[i] * inv;
                int q = (int) (v + Math.copySign(0.5f, v));
                dst[out++] = (byte) Math.max(-127, Math.min(127, q));
            }
        }
        return out - offset;
    }

    /** Decodes one row from {@code src[offset...]} into {@code out[outOffset, outOffset + d)}. */
    static void decode(ByteReader in, int d, float[] out, int outOffset) throws CorruptPayloadException {
        byte[] src = in.array();
        for (int start = 0; start < d; start += BLOCK) {
            int n = Math.min(d, start + BLOCK) - start;
            int scaleHalf = in.u16("q8_0 scale");
            if (!ScaleMath.validScale(scaleHalf)) {
                throw new CorruptPayloadException("q8_0 block scale 0x" + Integer.toHexString(scaleHalf) + " is negative or not finite");
            }
            float s = Half.toFloat((short) scaleHalf);
            int at = in.skip(n, "q8_0 codes");
            for (int i = 0; i < n; i++) {
                out[outOffset + start + i] = src[at + i] * s;
            }
        }
    }
}
