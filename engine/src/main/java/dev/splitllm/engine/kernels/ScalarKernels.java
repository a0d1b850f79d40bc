package dev.splitllm.engine.kernels;

import dev.splitllm.quantization.Half;

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
    public void dot4F32(float[] a, int a0, int a1, int a2, int a3, float[] x, int xOff, int n, float[] out, int outOff,
                        int stride) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < n; i++) {
            float xi = x[xOff + i];
            s0 += a[a0 + i] * xi;
            s1 += a[a1 + i] * xi;
            s2 += a[a2 + i] * xi;
            s3 += a[a3 + i] * xi;
        }
        out[outOff] = s0;
        out[outOff + stride] = s1;
        out[outOff + 2 * stride] = s2;
        out[outOff + 3 * stride] = s3;
    }

    @Override
    public void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }
}
