package dev.splitllm.engine.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.kernels.vector.VectorKernels;
import dev.splitllm.engine.tensor.F32Matrix;
import dev.splitllm.engine.tensor.MatrixConverter;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.weights.WeightFormat;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * For every weight format, {@link WeightMatrix#dot} with the scalar and with the Vector API
 * kernels equals the dot product of the dequantized row with x computed in double, within a
 * tolerance relative to sum |w_i x_i| (float accumulation only; the quantization error itself is
 * excluded because the reference uses the same dequantized weights).
 */
class QuantizedKernelsTest {

    static final int[][] SHAPES = {{7, 32}, {5, 96}, {3, 288}, {4, 768}, {2, 1056}, {9, 64}, {3, 256}, {2, 512}, {1, 2048}};

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (WeightFormat f : WeightFormat.values()) {
            for (String k : new String[] {"scalar", "vector", "vector256", "vector512"}) {
                for (int[] s : SHAPES) {
                    if (s[1] % f.blockSize == 0) b.add(Arguments.of(f, k, s[0], s[1])); // k-quants: rows of 256s
                }
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1} {2}x{3}")
    @MethodSource("cases")
    void dotEqualsDequantizedReference(WeightFormat format, String kernelName, int rows, int cols) {
        // "vector" is what KernelProvider picks; vector256/vector512 force each quantized path.
        Kernels kernels = kernelName.equals("vector256") ? new VectorKernels(256)
                : kernelName.equals("vector512") ? new VectorKernels(512) : KernelProvider.select(kernelName);
        assertEquals(kernelName.equals("scalar"), kernels.name().equals("scalar"));
        Random rnd = new Random(31L * rows + cols + format.ordinal() * 1000L);
        // A source with a leading offset so the F32 path is checked away from index 0.
        int pad = 5;
        float[] src = new float[pad + rows * cols];
        for (int i = pad; i < src.length; i++) {
            src[i] = (float) rnd.nextGaussian() * (rnd.nextInt(20) == 0 ? 4f : 0.3f);
        }
        WeightMatrix m = MatrixConverter.convert(new F32Matrix(src, pad, rows, cols), format, "test");
        assertEquals(format, m.format());
        float[] w = MatrixConverter.dequantize(m);
        // x holds three vectors back to back; use the middle one to exercise xOff.
        float[] x = new float[3 * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int r = 0; r < rows; r++) {
            double ref = 0, mag = 0;
            for (int c = 0; c < cols; c++) {
                double p = (double) w[r * cols + c] * x[cols + c];
                ref += p;
                mag += Math.abs(p);
            }
            float got = m.dot(kernels, r, x, cols);
            double tol = 2e-6 * Math.sqrt(cols) * mag + 1e-30;
            assertEquals(ref, got, tol, format + " " + kernels.name() + " row " + r);
        }
    }
}
