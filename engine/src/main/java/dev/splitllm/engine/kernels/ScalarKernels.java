package dev.splitllm.engine.kernels;

import dev.splitllm.quantization.Half;
import dev.splitllm.quantization.weights.KQuantizer;

/**
 * Plain-Java kernels: always available, including on Android. Four independent
 * accumulators let the JIT keep several multiply-adds in flight.
 */
public final class ScalarKernels implements Kernels {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public float dotF32(float[] a, int aOff, float[] b, int bOff, int n) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            s0 += a[aOff + i] * b[bOff + i];
            s1 += a[aOff + i + 1] * b[bOff + i + 1];
            s2 += a[aOff + i + 2] * b[bOff + i + 2];
            s3 += a[aOff + i + 3] * b[bOff + i + 3];
        }
        for (; i < n; i++) {
            s0 += a[aOff + i] * b[bOff + i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    @Override
    public float dotF16(short[] w, int wOff, float[] x, int xOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += Half.toFloat(w[wOff + i]) * x[xOff + i];
        }
        return s;
    }

    @Override
    public float dotBF16(short[] w, int wOff, float[] x, int xOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += Float.intBitsToFloat((w[wOff + i] & 0xffff) << 16) * x[xOff + i];
        }
        return s;
    }

    // The quantized kernels keep four independent partial sums per block (as dotF32 does) so the
    // JIT can overlap the multiply-adds instead of waiting on one accumulator's latency.

    @Override
    public float dotQ8_0(byte[] w, int wOff, float[] x, int xOff, int n) {
        float total = 0;
        for (int block = 0; block < n; block += 32, wOff += 34) {
            float scale = Fp16Scales.at(w, wOff);
            int q = wOff + 2, xb = xOff + block;
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int j = 0; j < 32; j += 4) {
                s0 += w[q + j] * x[xb + j];
                s1 += w[q + j + 1] * x[xb + j + 1];
                s2 += w[q + j + 2] * x[xb + j + 2];
                s3 += w[q + j + 3] * x[xb + j + 3];
            }
            total += scale * ((s0 + s1) + (s2 + s3));
        }
        return total;
    }

    @Override
    public float dotQ4_0(byte[] w, int wOff, float[] x, int xOff, int n) {
        float total = 0;
        for (int block = 0; block < n; block += 32, wOff += 18) {
            float scale = Fp16Scales.at(w, wOff);
            int q = wOff + 2, xb = xOff + block;
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int j = 0; j < 16; j += 2) {
                int p0 = w[q + j], p1 = w[q + j + 1];
                s0 += ((p0 & 0x0f) - 8) * x[xb + j];
                s1 += ((p1 & 0x0f) - 8) * x[xb + j + 1];
                s2 += (((p0 >> 4) & 0x0f) - 8) * x[xb + j + 16];
                s3 += (((p1 >> 4) & 0x0f) - 8) * x[xb + j + 17];
            }
            total += scale * ((s0 + s1) + (s2 + s3));
        }
        return total;
    }

    @Override
    public float dotQ4_K(byte[] w, int wOff, float[] x, int xOff, int n) {
        return dotMinK(w, wOff, x, xOff, n, false);
    }

    @Override
    public float dotQ5_K(byte[] w, int wOff, float[] x, int xOff, int n) {
        return dotMinK(w, wOff, x, xOff, n, true);
    }

    /** Q4_K / Q5_K: per pair of sub-blocks, 32 bytes of nibbles (low: the first, high: the second). */
    private static float dotMinK(byte[] w, int wOff, float[] x, int xOff, int n, boolean fifth) {
        int blockBytes = fifth ? 176 : 144;
        float total = 0;
        for (int b = 0; b < n; b += 256, wOff += blockBytes) {
            float d = Fp16Scales.at(w, wOff), dmin = Fp16Scales.at(w, wOff + 2);
            int s = wOff + 4, qh = wOff + 16, q = wOff + (fifth ? 48 : 16);
            float codes = 0, mins = 0;
            for (int j = 0; j < 8; j += 2, q += 32) {
                int xa = xOff + b + 32 * j, xb = xa + 32;
                float qa = 0, qb = 0, sa = 0, sb = 0;
                for (int l = 0; l < 32; l++) {
                    int p = w[q + l] & 0xff;
                    int lo = p & 0xF, hi = p >> 4;
                    if (fifth) {
                        int h = w[qh + l] >> j;
                        lo |= (h & 1) << 4;
                        hi |= (h & 2) << 3;
                    }
                    float va = x[xa + l], vb = x[xb + l];
                    qa += lo * va;
                    qb += hi * vb;
                    sa += va;
                    sb += vb;
                }
                codes += KQuantizer.scaleK4(w, s, j, false) * qa + KQuantizer.scaleK4(w, s, j + 1, false) * qb;
                mins += KQuantizer.scaleK4(w, s, j, true) * sa + KQuantizer.scaleK4(w, s, j + 1, true) * sb;
            }
            total += d * codes - dmin * mins;
        }
        return total;
    }

    @Override
    public float dotQ6_K(byte[] w, int wOff, float[] x, int xOff, int n) {
        float total = 0;
        for (int b = 0; b < n; b += 256, wOff += 210) {
            float d = Fp16Scales.at(w, wOff + 208);
            float sum = 0;
            for (int half = 0; half < 2; half++) {
                int ql = wOff + 64 * half, qh = wOff + 128 + 32 * half, sc = wOff + 192 + 8 * half;
                int xb = xOff + b + 128 * half;
                for (int is = 0; is < 2; is++) {
                    float s1 = 0, s2 = 0, s3 = 0, s4 = 0;
                    for (int l = 16 * is; l < 16 * is + 16; l++) {
                        int l0 = w[ql + l] & 0xff, l32 = w[ql + l + 32] & 0xff, h = w[qh + l] & 0xff;
                        s1 += (((l0 & 0xF) | ((h & 3) << 4)) - 32) * x[xb + l];
                        s2 += (((l32 & 0xF) | (((h >> 2) & 3) << 4)) - 32) * x[xb + l + 32];
                        s3 += (((l0 >> 4) | (((h >> 4) & 3) << 4)) - 32) * x[xb + l + 64];
                        s4 += (((l32 >> 4) | (((h >> 6) & 3) << 4)) - 32) * x[xb + l + 96];
                    }
                    sum += w[sc + is] * s1 + w[sc + is + 2] * s2 + w[sc + is + 4] * s3 + w[sc + is + 6] * s4;
                }
            }
            total += d * sum;
        }
        return total;
    }

    /** Measured: see {@link #PREFER_Q8}. */
    @Override
    public boolean prefersQ8Activations() {
        return PREFER_Q8;
    }

    /**
     * Plain-Java integer dot products against Q8 activations: off unless
     * {@code -Dsplitllm.q8activations=true}. On HotSpot 17 the float loops measured faster
     * (KernelBenchmark, docs/BENCHMARKS.md); Android's runtime was not measured.
     */
    static final boolean PREFER_Q8 = "true".equals(System.getProperty("splitllm.q8activations"));

    // Integer kernels: the products of two codes are summed in ints (exact), then scaled once per
    // block. Two independent int sums per block keep the adds overlapped.

    @Override
    public float dotQ8_0Q8(byte[] w, int wOff, byte[] q, int qOff, float[] d, int dOff, int n) {
        float total = 0;
        for (int block = 0; block < n; block += 32, wOff += 34) {
            int p = wOff + 2, x = qOff + block;
            int s0 = 0, s1 = 0;
            for (int j = 0; j < 32; j += 2) {
                s0 += w[p + j] * q[x + j];
                s1 += w[p + j + 1] * q[x + j + 1];
            }
            total += Fp16Scales.at(w, wOff) * d[dOff + (block >> 5)] * (s0 + s1);
        }
        return total;
    }

    @Override
    public float dotQ4_0Q8(byte[] w, int wOff, byte[] q, int qOff, float[] d, int dOff, int n) {
        float total = 0;
        for (int block = 0; block < n; block += 32, wOff += 18) {
            int p = wOff + 2, x = qOff + block;
            int s0 = 0, s1 = 0;
            for (int j = 0; j < 16; j++) {
                int b = w[p + j];
                s0 += ((b & 0x0f) - 8) * q[x + j];
                s1 += (((b >> 4) & 0x0f) - 8) * q[x + j + 16];
            }
            total += Fp16Scales.at(w, wOff) * d[dOff + (block >> 5)] * (s0 + s1);
        }
        return total;
    }

    @Override
    public void dot2x2F32(float[] a, int a0, int aStride, float[] x, int x0, int xStride, int n, float[] out, int outOff,
                          int rowStride, int tokStride) {
        // dotF32's four partial sums per product in its order (identical bits), loads shared by two products.
        float p0 = 0, p1 = 0, p2 = 0, p3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
        float r0 = 0, r1 = 0, r2 = 0, r3 = 0, s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int a1 = a0 + aStride, x1 = x0 + xStride;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            float w = a[a0 + i], u = a[a1 + i], v = x[x0 + i], y = x[x1 + i];
            p0 += w * v; q0 += w * y; r0 += u * v; s0 += u * y;
            w = a[a0 + i + 1]; u = a[a1 + i + 1]; v = x[x0 + i + 1]; y = x[x1 + i + 1];
            p1 += w * v; q1 += w * y; r1 += u * v; s1 += u * y;
            w = a[a0 + i + 2]; u = a[a1 + i + 2]; v = x[x0 + i + 2]; y = x[x1 + i + 2];
            p2 += w * v; q2 += w * y; r2 += u * v; s2 += u * y;
            w = a[a0 + i + 3]; u = a[a1 + i + 3]; v = x[x0 + i + 3]; y = x[x1 + i + 3];
            p3 += w * v; q3 += w * y; r3 += u * v; s3 += u * y;
        }
        for (; i < n; i++) {
            float w = a[a0 + i], u = a[a1 + i], v = x[x0 + i], y = x[x1 + i];
            p0 += w * v; q0 += w * y; r0 += u * v; s0 += u * y;
        }
        out[outOff] = (p0 + p1) + (p2 + p3);
        out[outOff + tokStride] = (q0 + q1) + (q2 + q3);
        out[outOff + rowStride] = (r0 + r1) + (r2 + r3);
        out[outOff + rowStride + tokStride] = (s0 + s1) + (s2 + s3);
    }

    @Override
    public void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }
}
