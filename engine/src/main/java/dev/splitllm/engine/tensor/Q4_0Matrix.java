package dev.splitllm.engine.tensor;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.Q8Activations;
import dev.splitllm.quantization.Half;
import dev.splitllm.quantization.weights.WeightFormat;

/** Q4_0 weights: blocks of 32 nibbles with an fp16 scale (llama.cpp layout). */
public final class Q4_0Matrix extends BlockMatrix {

    public Q4_0Matrix(byte[] data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.Q4_0;
    }

    @Override
    public float dot(Kernels k, int row, float[] x, int xOff) {
        return k.dotQ4_0(data, row * rowBytes, x, xOff, cols);
    }

    @Override
    public boolean takesQ8(Kernels k) {
        return k.prefersQ8Activations();
    }

    @Override
    public void dotRows(Kernels k, int from, int to, float[] x, Q8Activations q8, int t, float[] out, int outOff) {
        if (q8 == null) {
            // Several weight streams at once keep more reads in flight (decode beyond the caches).
            int r = from, rb = rowBytes, xOff = t * cols;
            for (; r + 3 < to; r += 4) {
                k.dot4Q4_0(data, r * rb, (r + 1) * rb, (r + 2) * rb, (r + 3) * rb, x, xOff, cols, out, outOff + r - from);
            }
            if (r + 1 < to) {
                k.dot2Q4_0(data, r * rb, (r + 1) * rb, x, xOff, cols, out, outOff + r - from);
                r += 2;
            }
            if (r < to) out[outOff + r - from] = k.dotQ4_0(data, r * rb, x, xOff, cols);
            return;
        }
        byte[] q = q8.q;
        float[] d = q8.d;
        int qOff = t * cols, dOff = qOff >> 5, rb = rowBytes;
        int r = from;
        for (; r < to; r++) {
            out[outOff + r - from] = k.dotQ4_0Q8(data, r * rb, q, qOff, d, dOff, cols);
        }
    }

    @Override
    public void readRow(int row, float[] out, int off) {
        int p = row * rowBytes;
        for (int b = 0; b < cols; b += 32, p += 18) {
            float d = Half.toFloat((short) ((data[p] & 0xff) | (data[p + 1] << 8)));
            for (int j = 0; j < 16; j++) {
                int packed = data[p + 2 + j];
                out[off + b + j] = ((packed & 0x0f) - 8) * d;
                out[off + b + j + 16] = (((packed >> 4) & 0x0f) - 8) * d;
            }
        }
    }

    @Override
    public void readRowStrided(int row, float[] out, int off, int stride, float[] scratch) {
        int p = row * rowBytes;
        for (int b = 0; b < cols; b += 32, p += 18) {
            float d = Half.toFloat((short) ((data[p] & 0xff) | (data[p + 1] << 8)));
            int lo = off + b * stride, hi = lo + 16 * stride;
            for (int j = 0; j < 16; j++, lo += stride, hi += stride) {
                int packed = data[p + 2 + j];
                out[lo] = ((packed & 0x0f) - 8) * d;
                out[hi] = (((packed >> 4) & 0x0f) - 8) * d;
            }
        }
    }
}
