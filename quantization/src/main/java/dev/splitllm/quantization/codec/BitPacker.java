package dev.splitllm.quantization.codec;

/**
 * Packs b-bit codes (1 &lt;= b &lt;= 8) LSB-first: code {@code i} occupies bits
 * {@code [i*b, i*b + b)} of a little-endian bit stream, so byte {@code k} holds stream bits
 * {@code 8k..8k+7} with the lowest stream bit in the byte's least significant bit. A row of
 * {@code n} codes takes {@code ceil(n*b/8)} bytes; unused high bits of the last byte are zero.
 *
 * <p>The hot loops move whole groups (g codes = B bytes exactly: 2 bits 4→1, 3 bits 8→3,
 * 4 bits 2→1, 6 bits 4→3, else 8→b) through one accumulator. Widths 2, 4 and 6 have their own
 * loops; the others share a group method called with constant arguments (which the JIT may
 * inline and unroll per width), and every width's last partial group goes through it.
 */
public final class BitPacker {
    private BitPacker() {}

    /** Bytes taken by {@code n} codes of {@code bits} bits. */
    public static long packedBytes(long n, int bits) {
        return (n * bits + 7) >>> 3;
    }

    /** Writes {@code codes[0, n)} at {@code dst[offset...]}; returns the bytes written. */
    public static int pack(byte[] codes, int n, int bits, byte[] dst, int offset) {
        switch (bits) {
            case 1: return packGroups(codes, 0, n, 1, 8, 1, dst, offset);
            case 2: return pack2(codes, n, dst, offset);
            case 3: return packGroups(codes, 0, n, 3, 8, 3, dst, offset);
            case 4: return pack4(codes, n, dst, offset);
            case 5: return packGroups(codes, 0, n, 5, 8, 5, dst, offset);
            case 6: return pack6(codes, n, dst, offset);
            case 7: return packGroups(codes, 0, n, 7, 8, 7, dst, offset);
            case 8:
                System.arraycopy(codes, 0, dst, offset, n);
                return n;
            default: throw new IllegalArgumentException("bit-width must be in 1..8, got " + bits);
        }
    }

    private static int pack2(byte[] codes, int n, byte[] dst, int offset) {
        int full = n & ~3;
        int out = offset;
        for (int i = 0; i < full; i += 4) {
            dst[out++] = (byte) (codes[i] | codes[i + 1] << 2 | codes[i + 2] << 4 | codes[i + 3] << 6);
        }
        return out - offset + packGroups(codes, full, n, 2, 4, 1, dst, out);
    }

    private static int pack4(byte[] codes, int n, byte[] dst, int offset) {
        int full = n & ~1;
        int out = offset;
        for (int i = 0; i < full; i += 2) {
            dst[out++] = (byte) (codes[i] | codes[i + 1] << 4);
        }
        return out - offset + packGroups(codes, full, n, 4, 2, 1, dst, out);
    }

    private static int pack6(byte[] codes, int n, byte[] dst, int offset) {
        int full = n & ~3;
        int out = offset;
        for (int i = 0; i < full; i += 4) {
            int w = codes[i] | codes[i + 1] << 6 | codes[i + 2] << 12 | codes[i + 3] << 18;
            dst[out] = (byte) w;
            dst[out + 1] = (byte) (w >>> 8);
            dst[out + 2] = (byte) (w >>> 16);
            out += 3;
        }
        return out - offset + packGroups(codes, full, n, 6, 4, 3, dst, out);
    }

    /** Packs {@code codes[from, n)}; {@code from} is a multiple of the group. */
    private static int packGroups(byte[] codes, int from, int n, int bits, int group, int groupBytes, byte[] dst, int offset) {
        int out = offset;
        int full = n - (n - from) % group;
        int i = from;
        for (; i < full; i += group) {
            long acc = 0;
            for (int k = 0; k < group; k++) {
                acc |= (long) (codes[i + k] & 0xff) << (k * bits);
            }
            for (int k = 0; k < groupBytes; k++) {
                dst[out++] = (byte) (acc >>> (k << 3));
            }
        }
        long acc = 0;
        int used = 0;
        for (; i < n; i++) {
            acc |= (long) (codes[i] & 0xff) << used;
            used += bits;
        }
        for (; used > 0; used -= 8) {
            dst[out++] = (byte) acc;
            acc >>>= 8;
        }
        return out - offset;
    }

    /**
     * Reads {@code n} codes from {@code src[offset...]} and writes {@code lut[code]} to
     * {@code out[outOffset...]}: unpacking and dequantization in one pass. The caller has checked
     * that {@link #packedBytes} bytes are present. Returns false when the padding bits of the last
     * byte are not zero (a malformed row).
     */
    public static boolean unpackLookup(byte[] src, int offset, int n, int bits, float[] lut, float[] out, int outOffset) {
        switch (bits) {
            case 1: return unpackGroups(src, offset, n, 1, 8, 1, lut, out, outOffset);
            case 2: return unpack2(src, offset, n, lut, out, outOffset);
            case 3: return unpackGroups(src, offset, n, 3, 8, 3, lut, out, outOffset);
            case 4: return unpack4(src, offset, n, lut, out, outOffset);
            case 5: return unpackGroups(src, offset, n, 5, 8, 5, lut, out, outOffset);
            case 6: return unpack6(src, offset, n, lut, out, outOffset);
            case 7: return unpackGroups(src, offset, n, 7, 8, 7, lut, out, outOffset);
            case 8:
                for (int i = 0; i < n; i++) {
                    out[outOffset + i] = lut[src[offset + i] & 0xff];
                }
                return true;
            default: throw new IllegalArgumentException("bit-width must be in 1..8, got " + bits);
        }
    }

    // The common widths get their own loops, so their speed does not depend on the JIT inlining
    // unpackGroups with constant arguments (a server decoding many widths may not).

    private static boolean unpack2(byte[] src, int offset, int n, float[] lut, float[] out, int outOffset) {
        int full = n & ~3;
        int in = offset;
        for (int i = 0; i < full; i += 4) {
            int b = src[in++] & 0xff;
            out[outOffset + i] = lut[b & 3];
            out[outOffset + i + 1] = lut[(b >>> 2) & 3];
            out[outOffset + i + 2] = lut[(b >>> 4) & 3];
            out[outOffset + i + 3] = lut[b >>> 6];
        }
        return unpackGroups(src, in, n - full, 2, 4, 1, lut, out, outOffset + full);
    }

    private static boolean unpack4(byte[] src, int offset, int n, float[] lut, float[] out, int outOffset) {
        int full = n & ~1;
        int in = offset;
        for (int i = 0; i < full; i += 2) {
            int b = src[in++] & 0xff;
            out[outOffset + i] = lut[b & 15];
            out[outOffset + i + 1] = lut[b >>> 4];
        }
        return unpackGroups(src, in, n - full, 4, 2, 1, lut, out, outOffset + full);
    }

    private static boolean unpack6(byte[] src, int offset, int n, float[] lut, float[] out, int outOffset) {
        int full = n & ~3;
        int in = offset;
        for (int i = 0; i < full; i += 4) {
            int w = (src[in] & 0xff) | (src[in + 1] & 0xff) << 8 | (src[in + 2] & 0xff) << 16;
            in += 3;
            out[outOffset + i] = lut[w & 63];
            out[outOffset + i + 1] = lut[(w >>> 6) & 63];
            out[outOffset + i + 2] = lut[(w >>> 12) & 63];
            out[outOffset + i + 3] = lut[w >>> 18];
        }
        return unpackGroups(src, in, n - full, 6, 4, 3, lut, out, outOffset + full);
    }

    private static boolean unpackGroups(byte[] src, int offset, int n, int bits, int group, int groupBytes,
                                        float[] lut, float[] out, int outOffset) {
        int mask = (1 << bits) - 1;
        int in = offset;
        int full = n - n % group;
        int i = 0;
        for (; i < full; i += group) {
            long acc = 0;
            for (int k = 0; k < groupBytes; k++) {
                acc |= (long) (src[in++] & 0xff) << (k << 3);
            }
            for (int k = 0; k < group; k++) {
                out[outOffset + i + k] = lut[(int) (acc >>> (k * bits)) & mask];
            }
        }
        int rest = n - full;
        if (rest == 0) {
            return true;
        }
        int tailBytes = (rest * bits + 7) >>> 3;
        long acc = 0;
        for (int k = 0; k < tailBytes; k++) {
            acc |= (long) (src[in++] & 0xff) << (k << 3);
        }
        for (int k = 0; k < rest; k++) {
            out[outOffset + i + k] = lut[(int) (acc >>> (k * bits)) & mask];
        }
        return (acc >>> (rest * bits)) == 0;
    }
}
