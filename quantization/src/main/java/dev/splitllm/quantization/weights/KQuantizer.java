package dev.splitllm.quantization.weights;

import dev.splitllm.quantization.Half;

/**
 * ggml's k-quant super-blocks of 256 weights (layouts of ggml-common.h), encoded and decoded.
 * The decoders follow ggml-quants.c ({@code dequantize_row_q4_K}, {@code _q5_K}, {@code _q6_K})
 * with the same float operation order, so a GGUF file decodes to llama.cpp's values.
 *
 * <ul>
 *   <li>Q4_K (144 bytes): fp16 d, fp16 dmin, 12 bytes of packed 6-bit (scale, min) pairs for 8
 *       sub-blocks of 32, 128 bytes of nibbles; y = d·sc·q − dmin·m, q in 0..15.</li>
 *   <li>Q5_K (176 bytes): as Q4_K, then 32 bytes of fifth bits (qh) before the 128 bytes of
 *       nibbles; q in 0..31.</li>
 *   <li>Q6_K (210 bytes): 128 bytes of low nibbles (ql), 64 bytes of high 2-bit pairs (qh), 16
 *       signed 8-bit scales for sub-blocks of 16, fp16 d; y = d·sc·(q − 32).</li>
 * </ul>
 *
 * The encoders are the plain range fit (each sub-block's min and max, scales rounded to 6 or
 * 8 bits), not llama.cpp's iterative search: their error is within a few percent of it, and
 * they are exact inverses of the layout, which is what the tests and the synthetic models need.
 */
public final class KQuantizer {
    private KQuantizer() {}

    /** Weights per super-block. */
    public static final int QK_K = 256;

    // ---- Q4_K -------------------------------------------------------------------------------

    /** Encodes n values (a multiple of 256) of x[xOff ..] as Q4_K blocks at out[outOff ..]. */
    public static void quantizeQ4K(float[] x, int xOff, int n, byte[] out, int outOff, String name) {
        for (int b = 0; b < n; b += QK_K, outOff += WeightFormat.Q4_K.blockBytes) {
            quantizeMinBlock(x, xOff + b, out, outOff, 15, -1, outOff + 16, name);
        }
    }

    /** Encodes n values (a multiple of 256) of x[xOff ..] as Q5_K blocks at out[outOff ..]. */
    public static void quantizeQ5K(float[] x, int xOff, int n, byte[] out, int outOff, String name) {
        for (int b = 0; b < n; b += QK_K, outOff += WeightFormat.Q5_K.blockBytes) {
            quantizeMinBlock(x, xOff + b, out, outOff, 31, outOff + 16, outOff + 48, name);
        }
    }

    /**
     * One Q4_K (qh &lt; 0) or Q5_K super-block: per sub-block of 32 a range [min(0, lo), hi],
     * scale = range / levels, both quantized to 6 bits against the block's fp16 d and dmin.
     */
    private static void quantizeMinBlock(float[] x, int at, byte[] out, int o, int levels, int qh, int qs, String name) {
        float[] scale = new float[8], min = new float[8];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++) {
            float lo = 0, hi = -Float.MAX_VALUE;
            for (int l = 0; l < 32; l++) {
                float v = x[at + 32 * j + l];
                TensorChecks.finite(v, name, at + 32 * j + l);
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            scale[j] = Math.max(0, hi - lo) / levels;
            min[j] = -lo;
            maxScale = Math.max(maxScale, scale[j]);
            maxMin = Math.max(maxMin, min[j]);
        }
        short dh = half(maxScale / 63, name), mh = half(maxMin / 63, name);
        float d = Half.toFloat(dh), dmin = Half.toFloat(mh);
        putShort(out, o, dh);
        putShort(out, o + 2, mh);
        int[] sc = new int[8], m = new int[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = d > 0 ? Math.min(63, Math.round(scale[j] / d)) : 0;
            m[j] = dmin > 0 ? Math.min(63, Math.round(min[j] / dmin)) : 0;
        }
        packScalesK4(sc, m, out, o + 4);
        if (qh >= 0) java.util.Arrays.fill(out, qh, qh + 32, (byte) 0);
        for (int c = 0; c < 4; c++) {
            for (int half = 0; half < 2; half++) {
                int j = 2 * c + half;
                float dd = d * sc[j], mm = dmin * m[j];
                for (int l = 0; l < 32; l++) {
                    int q = dd > 0 ? Math.max(0, Math.min(levels, Math.round((x[at + 32 * j + l] + mm) / dd))) : 0;
                    int p = qs + 32 * c + l;
                    out[p] = (byte) (half == 0 ? (out[p] & 0xF0) | (q & 0xF) : (out[p] & 0x0F) | ((q & 0xF) << 4));
                    if (qh >= 0 && q > 15) out[qh + l] |= (byte) (1 << j);
                }
            }
        }
    }

    /** The inverse of ggml's {@code get_scale_min_k4}: 8 six-bit scales and mins into 12 bytes. */
    private static void packScalesK4(int[] sc, int[] m, byte[] out, int s) {
        for (int j = 0; j < 4; j++) {
            out[s + j] = (byte) (sc[j] | ((sc[j + 4] >> 4) << 6));
            out[s + j + 4] = (byte) (m[j] | ((m[j + 4] >> 4) << 6));
            out[s + j + 8] = (byte) ((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
        }
    }

    /** ggml's {@code get_scale_min_k4}: the 6-bit scale (or min) of sub-block j from the 12 bytes at s. */
    public static int scaleK4(byte[] w, int s, int j, boolean min) {
        if (j < 4) {
            return (w[s + j + (min ? 4 : 0)] & 0xff) & 63;
        }
        int qj4 = w[s + j + 4] & 0xff;
        if (!min) {
            return (qj4 & 0xF) | (((w[s + j - 4] & 0xff) >> 6) << 4);
        }
        return (qj4 >> 4) | (((w[s + j] & 0xff) >> 6) << 4);
    }

    /** Decodes n weights (a multiple of 256) of Q4_K blocks at w[off ..] into out[outOff ..]. */
    public static void dequantizeQ4K(byte[] w, int off, int n, float[] out, int outOff) {
        int y = outOff;
        for (int b = 0; b < n / QK_K; b++, off += WeightFormat.Q4_K.blockBytes) {
            float d = Half.toFloat(getShort(w, off)), min = Half.toFloat(getShort(w, off + 2));
            int q = off + 16;
            for (int j = 0; j < 8; j += 2, q += 32) {
                float d1 = d * scaleK4(w, off + 4, j, false), m1 = min * scaleK4(w, off + 4, j, true);
                float d2 = d * scaleK4(w, off + 4, j + 1, false), m2 = min * scaleK4(w, off + 4, j + 1, true);
                for (int l = 0; l < 32; l++) out[y++] = d1 * (w[q + l] & 0xF) - m1;
                for (int l = 0; l < 32; l++) out[y++] = d2 * ((w[q + l] & 0xff) >> 4) - m2;
            }
        }
    }

    /** Decodes n weights (a multiple of 256) of Q5_K blocks at w[off ..] into out[outOff ..]. */
    public static void dequantizeQ5K(byte[] w, int off, int n, float[] out, int outOff) {
        int y = outOff;
        for (int b = 0; b < n / QK_K; b++, off += WeightFormat.Q5_K.blockBytes) {
            float d = Half.toFloat(getShort(w, off)), min = Half.toFloat(getShort(w, off + 2));
            int qh = off + 16, q = off + 48;
            for (int j = 0; j < 8; j += 2, q += 32) {
                float d1 = d * scaleK4(w, off + 4, j, false), m1 = min * scaleK4(w, off + 4, j, true);
                float d2 = d * scaleK4(w, off + 4, j + 1, false), m2 = min * scaleK4(w, off + 4, j + 1, true);
                int u1 = 1 << j, u2 = 2 << j;
                for (int l = 0; l < 32; l++) out[y++] = d1 * ((w[q + l] & 0xF) + ((w[qh + l] & u1) != 0 ? 16 : 0)) - m1;
                for (int l = 0; l < 32; l++) out[y++] = d2 * (((w[q + l] & 0xff) >> 4) + ((w[qh + l] & u2) != 0 ? 16 : 0)) - m2;
            }
        }
    }

    // ---- Q6_K -------------------------------------------------------------------------------

    /**
     * Encodes n values (a multiple of 256) of x[xOff ..] as Q6_K blocks at out[outOff ..]:
     * per sub-block of 16 a symmetric scale amax / 31, quantized to 8 bits against the fp16 d.
     */
    public static void quantizeQ6K(float[] x, int xOff, int n, byte[] out, int outOff, String name) {
        for (int b = 0; b < n; b += QK_K, outOff += WeightFormat.Q6_K.blockBytes) {
            int at = xOff + b, o = outOff;
            float[] scale = new float[16];
            float maxScale = 0;
            for (int j = 0; j < 16; j++) {
                float amax = 0;
                for (int l = 0; l < 16; l++) {
                    float v = x[at + 16 * j + l];
                    TensorChecks.finite(v, name, at + 16 * j + l);
                    amax = Math.max(amax, Math.abs(v));
                }
                scale[j] = amax / 31;
                maxScale = Math.max(maxScale, scale[j]);
            }
            short dh = half(maxScale / 127, name);
            float d = Half.toFloat(dh);
            putShort(out, o + 208, dh);
            java.util.Arrays.fill(out, o, o + 192, (byte) 0);
            for (int j = 0; j < 16; j++) {
                int sc = d > 0 ? Math.min(127, Math.round(scale[j] / d)) : 0;
                out[o + 192 + j] = (byte) sc;
                float dd = d * sc;
                for (int l = 0; l < 16; l++) {
                    int e = 16 * j + l;
                    int q = dd > 0 ? Math.max(-32, Math.min(31, Math.round(x[at + e] / dd))) : 0;
                    putQ6(out, o, e, q + 32);
                }
            }
        }
    }

    /** Stores the 6-bit code u of element e (0..255) of the Q6_K block at o (the dequantizer's layout). */
    private static void putQ6(byte[] out, int o, int e, int u) {
        int half = e >> 7, r = e & 127, l = r & 31, quarter = r >> 5;
        int ql = o + 64 * half + l + ((quarter & 1) != 0 ? 32 : 0);
        int qh = o + 128 + 32 * half + l;
        out[ql] |= (byte) (quarter < 2 ? (u & 0xF) : (u & 0xF) << 4);
        out[qh] |= (byte) ((u >> 4) << (2 * quarter));
    }

    /** Decodes n weights (a multiple of 256) of Q6_K blocks at w[off ..] into out[outOff ..]. */
    public static void dequantizeQ6K(byte[] w, int off, int n, float[] out, int outOff) {
        int y = outOff;
        for (int b = 0; b < n / QK_K; b++, off += WeightFormat.Q6_K.blockBytes) {
            float d = Half.toFloat(getShort(w, off + 208));
            int ql = off, qh = off + 128, sc = off + 192;
            for (int half = 0; half < 2; half++) {
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int l0 = w[ql + l] & 0xff, l32 = w[ql + l + 32] & 0xff, h = w[qh + l] & 0xff;
                    int q1 = ((l0 & 0xF) | ((h & 3) << 4)) - 32;
                    int q2 = ((l32 & 0xF) | (((h >> 2) & 3) << 4)) - 32;
                    int q3 = ((l0 >> 4) | (((h >> 4) & 3) << 4)) - 32;
                    int q4 = ((l32 >> 4) | (((h >> 6) & 3) << 4)) - 32;
                    out[y + l] = d * w[sc + is] * q1;
                    out[y + l + 32] = d * w[sc + is + 2] * q2;
                    out[y + l + 64] = d * w[sc + is + 4] * q3;
                    out[y + l + 96] = d * w[sc + is + 6] * q4;
                }
                y += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
        }
    }

    // ---- helpers ----------------------------------------------------------------------------

    private static short half(float v, String name) {
        if (!(v <= Half.MAX_VALUE)) {
            throw new IllegalArgumentException(name + ": weights too large for a k-quant's fp16 super-block scale (" + v + ")");
        }
        return Half.fromFloat(v);
    }

    /** The little-endian 16 bits at w[p]. */
    private static short getShort(byte[] w, int p) {
        return (short) ((w[p] & 0xff) | (w[p + 1] << 8));
    }

    private static void putShort(byte[] out, int p, short v) {
        out[p] = (byte) v;
        out[p + 1] = (byte) (v >> 8);
    }
}
