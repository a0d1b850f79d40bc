package dev.splitllm.engine.gguf;

import dev.splitllm.quantization.Half;
import java.nio.ByteBuffer;

/**
 * Dequantization of ggml's k-quant super-blocks of 256 weights, transcribed from ggml-quants.c
 * ({@code dequantize_row_q4_K}, {@code dequantize_row_q6_K}) with the same float operation order.
 *
 * <ul>
 *   <li>Q4_K (144 bytes): fp16 d, fp16 dmin, 12 bytes of packed 6-bit (scale, min) pairs for 8
 *       sub-blocks of 32, 128 bytes of nibbles; y = d*sc * q - dmin*m.</li>
 *   <li>Q6_K (210 bytes): 128 bytes of low nibbles ql, 64 bytes of high 2-bit pairs qh, 16 signed
 *       8-bit sub-block scales, fp16 d; y = d * sc * (q - 32).</li>
 * </ul>
 */
public final class KQuantDequantizer {
    private KQuantDequantizer() {}

    public static final int QK_K = 256;
    public static final int Q4_K_BYTES = 144;
    public static final int Q6_K_BYTES = 210;

    /** Decodes n weights (n a multiple of 256) of Q4_K blocks at src[pos ..] into out[outOff ..]. */
    public static void dequantizeQ4K(ByteBuffer src, int pos, int n, float[] out, int outOff) {
        int y = outOff;
        for (int b = 0; b < n / QK_K; b++, pos += Q4_K_BYTES) {
            float d = Half.toFloat(src.getShort(pos));
            float min = Half.toFloat(src.getShort(pos + 2));
            int scales = pos + 4;
            int q = pos + 16;
            int is = 0;
            for (int j = 0; j < QK_K; j += 64) {
                int sc = scaleK4(src, scales, is, false), m = scaleK4(src, scales, is, true);
                float d1 = d * sc, m1 = min * m;
                sc = scaleK4(src, scales, is + 1, false);
                m = scaleK4(src, scales, is + 1, true);
                float d2 = d * sc, m2 = min * m;
                for (int l = 0; l < 32; l++) out[y++] = d1 * (src.get(q + l) & 0xF) - m1;
                for (int l = 0; l < 32; l++) out[y++] = d2 * ((src.get(q + l) & 0xff) >> 4) - m2;
                q += 32;
                is += 2;
            }
        }
    }

    /** ggml's {@code get_scale_min_k4}: the 6-bit scale (or min) of sub-block j. */
    private static int scaleK4(ByteBuffer src, int s, int j, boolean min) {
        if (j < 4) {
            return (src.get(s + j + (min ? 4 : 0)) & 0xff) & 63;
        }
        int qj4 = src.get(s + j + 4) & 0xff;
        if (!min) {
            return (qj4 & 0xF) | (((src.get(s + j - 4) & 0xff) >> 6) << 4);
        }
        return (qj4 >> 4) | (((src.get(s + j) & 0xff) >> 6) << 4);
    }

    /** Decodes n weights (n a multiple of 256) of Q6_K blocks at src[pos ..] into out[outOff ..]. */
    public static void dequantizeQ6K(ByteBuffer src, int pos, int n, float[] out, int outOff) {
        int y = outOff;
        for (int b = 0; b < n / QK_K; b++, pos += Q6_K_BYTES) {
            float d = Half.toFloat(src.getShort(pos + 208));
            int ql = pos, qh = pos + 128, sc = pos + 192;
            for (int half = 0; half < 2; half++) {
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int l0 = src.get(ql + l) & 0xff, l32 = src.get(ql + l + 32) & 0xff, h = src.get(qh + l) & 0xff;
                    int q1 = (byte) ((l0 & 0xF) | ((h & 3) << 4)) - 32;
                    int q2 = (byte) ((l32 & 0xF) | (((h >> 2) & 3) << 4)) - 32;
                    int q3 = (byte) ((l0 >> 4) | (((h >> 4) & 3) << 4)) - 32;
                    int q4 = (byte) ((l32 >> 4) | (((h >> 6) & 3) << 4)) - 32;
                    out[y + l] = d * src.get(sc + is) * q1;
                    out[y + l + 32] = d * src.get(sc + is + 2) * q2;
                    out[y + l + 64] = d * src.get(sc + is + 4) * q3;
                    out[y + l + 96] = d * src.get(sc + is + 6) * q4;
                }
                y += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
        }
    }
}
