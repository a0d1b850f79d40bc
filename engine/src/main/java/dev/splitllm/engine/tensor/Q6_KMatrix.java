package dev.splitllm.engine.tensor;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.quantization.weights.KQuantizer;
import dev.splitllm.quantization.weights.WeightFormat;

/** ggml Q6_K weights: super-blocks of 256 with 8-bit scales per 16, 6-bit codes (as stored in a GGUF file); kept in that form in memory and multiplied directly. */
public final class Q6_KMatrix extends BlockMatrix {

    public Q6_KMatrix(byte[] data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.Q6_K;
    }

    @Override
    public float dot(Kernels k, int row, float[] x, int xOff) {
        return k.dotQ6_K(data, row * rowBytes, x, xOff, cols);
    }

    @Override
    public void readRow(int row, float[] out, int off) {
        KQuantizer.dequantizeQ6K(data, row * rowBytes, cols, out, off);
    }
}
