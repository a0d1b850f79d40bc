package dev.splitllm.engine.tensor;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.Q8Activations;
import dev.splitllm.quantization.Half;
import dev.splitllm.quantization.weights.WeightFormat;

/** Q8_0 weights: blocks of 32 signed bytes with an fp16 scale (llama.cpp layout). */
public final class Q8_0Matrix extends BlockMatrix {

    public Q8_0Matrix(byte[] data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.Q8_0;
    }

    @Override
    public float dot(Kernels k, int row, float[] x, int xOff) {
        return k.dotQ8_0(data, row * rowBytes, x, xOff, cols);
    }

    @Override
    public boolean takesQ8(Kernels k) {
        return k.prefersQ8Activations();
    }

    @Override
    public void dotRows(Kernels k, int from, int to, float[] x, Q8Activations q8, int t, float[] out, int outOff) {
        if (q8 == null) {
            int r = from, rb = rowBytes;
            for (; r + 3 < to; r += 4) { // four weight streams at once: more reads in flight
                k.dot4Q8_0(data, r * rb, (r + 1) * rb, (r + 2) * rb, (r + 3) * rb, x, t * cols, cols, out, outOff + r - from);
            }
            for (; r < to; r++) {
                out[outOff + r - from] = k.dotQ8_0(data, r * rb, x, t * cols, cols);
            }
            return;
        }
        byte[] q = q8.q;
        float[] d = q8.d;
        int qOff = t * cols, dOff = qOff >> 5, rb = rowBytes;
        int r = from;
        for (; r < to; r++) {
            out[outOff + r - from] = k.dotQ8_0Q8(data, r * rb, q, qOff, d, dOff, cols);
        }
    }

    @Override
    public void readRow(int row, float[] out, int off) {
        int p = row * rowBytes;
        for (int b = 0; b < cols; b += 32, p += 34) {
            float d = Half.toFloat((short) ((data[p] & 0xff) | (data[p + 1] << 8)));
            for (int j = 0; j < 32; j++) {
                out[off + b + j] = data[p + 2 + j] * d;
            }
        }
    }

    @Override
    public void readRowStrided(int row, float[] out, int off, int stride, float[] scratch) {
        int p = row * rowBytes;
        for (int b = 0; b < cols; b += 32, p += 34) {
            float d = Half.toFloat((short) ((data[p] & 0xff) | (data[p + 1] << 8)));
            int o = off + b * stride;
            for (int j = 0; j < 32; j++, o += stride) {
                out[o] = data[p + 2 + j] * d;
            }
        }
    }
}
