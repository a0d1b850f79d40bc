package dev.splitllm.engine.tensor;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.quantization.weights.KQuantizer;
import dev.splitllm.quantization.weights.WeightFormat;

/** ggml Q5_K weights: as Q4_K with a fifth code bit per weight (as stored in a GGUF file); kept in that form in memory and multiplied directly. */
public final class Q5_KMatrix extends BlockMatrix {

    public Q5_KMatrix(byte[] data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.Q5_K;
    }

    @Override
    public float dot(Kernels k, int row, float[] x, int xOff) {
        return k.dotQ5_K(data, row * rowBytes, x, xOff, cols);
    }

    @Override
    public void readRow(int row, float[] out, int off) {
        KQuantizer.dequantizeQ5K(data, row * rowBytes, cols, out, off);
    }
}
