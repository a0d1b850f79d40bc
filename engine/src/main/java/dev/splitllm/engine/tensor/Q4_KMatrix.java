package dev.splitllm.engine.tensor;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.Q8Activations;
import dev.splitllm.quantization.weights.KQuantizer;
import dev.splitllm.quantization.weights.WeightFormat;

/** ggml Q4_K weights: super-blocks of 256 with 6-bit sub-block scales and mins, 4-bit codes (as stored in a GGUF file); kept in that form in memory and multiplied directly. */
public final class Q4_KMatrix extends BlockMatrix {

    public Q4_KMatrix(byte[] data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.Q4_K;
    }

    @Override
    public float dot(Kernels k, int row, float[] x, int xOff) {
        return k.dotQ4_K(data, row * rowBytes, x, xOff, cols);
    }

    @Override
    public void dotRows(Kernels k, int from, int to, float[] x, Q8Activations q8, int t, float[] out, int outOff) {
        int r = from;
        for (; r + 1 < to; r += 2) { // two weight streams at once: more reads in flight
            k.dot2Q4_K(data, r * rowBytes, (r + 1) * rowBytes, x, t * cols, cols, out, outOff + r - from);
        }
        if (r < to) out[outOff + r - from] = k.dotQ4_K(data, r * rowBytes, x, t * cols, cols);
    }

    @Override
    public void readRow(int row, float[] out, int off) {
        KQuantizer.dequantizeQ4K(data, row * rowBytes, cols, out, off);
    }
}
