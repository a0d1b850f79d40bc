package dev.splitllm.engine.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.kernels.vector.VectorKernels;
import dev.splitllm.engine.tensor.F32Matrix;
import dev.splitllm.engine.tensor.MatrixConverter;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.weights.WeightFormat;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The matmul row kernels ({@link WeightMatrix#dotRows}: integer dot products against activations
 * quantized once to Q8 blocks, four-row tiles, the F32 four-row tile) equal dequantize-then-dot
 * in double, with the activations as the kernels see them (codes times block scales), within the
 * bound of {@link QuantizedKernelsTest}: 2e-6 sqrt(n) sum |w_i x_i|. Scalar and Vector API
 * kernels, both quantized widths, and every row count (tiles of four plus a tail).
 */
class Q8KernelsTest {

    static final int[][] SHAPES = {{7, 32}, {5, 96}, {3, 288}, {4, 768}, {2, 1056}, {9, 64}, {13, 256}, {6, 512}};

    static Kernels kernels(String name) {
        return name.equals("vector256") ? new VectorKernels(256)
                : name.equals("vector512") ? new VectorKernels(512) : KernelProvider.select(name);
    }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (WeightFormat f : WeightFormat.values()) {
            for (String k : new String[] {"scalar", "vector256", "vector512"}) {
                for (int[] s : SHAPES) {
                    if (s[1] % f.blockSize == 0) b.add(Arguments.of(f, k, s[0], s[1]));
                }
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1} {2}x{3}")
    @MethodSource("cases")
    void dotRowsEqualsDequantizedReference(WeightFormat format, String kernelName, int rows, int cols) {
        Kernels kernels = kernels(kernelName);
        Random rnd = new Random(17L * rows + cols + format.ordinal() * 1000L);
        float[] src = new float[rows * cols];
        for (int i = 0; i < src.length; i++) {
            src[i] = (float) rnd.nextGaussian() * (rnd.nextInt(20) == 0 ? 4f : 0.3f);
        }
        WeightMatrix m = MatrixConverter.convert(new F32Matrix(src, rows, cols), format, "test");
        float[] w = MatrixConverter.dequantize(m);
        int T = 3;
        float[] x = new float[T * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian() * (i % 37 == 0 ? 6f : 1f);
        boolean intKernels = m.format() == WeightFormat.Q8_0 || m.format() == WeightFormat.Q4_0;
        for (boolean q8path : intKernels ? new boolean[] {true, false} : new boolean[] {false}) {
        Q8Activations q8 = q8path ? new Q8Activations().quantize(x, T, cols) : null;
        float[] seen = q8 == null ? x : Q8Activations.dequantize(q8.q, q8.d, T * cols);
        for (int t = 0; t < T; t++) {
            // Two calls: rows [0, split) and [split, rows), so tiles start away from row 0.
            float[] got = new float[rows + 2];
            int split = rows / 3;
            m.dotRows(kernels, 0, split, q8path ? null : x, q8, t, got, 1);
            m.dotRows(kernels, split, rows, q8path ? null : x, q8, t, got, 1 + split);
            for (int r = 0; r < rows; r++) {
                double ref = 0, mag = 0;
                for (int c = 0; c < cols; c++) {
                    double p = (double) w[r * cols + c] * seen[t * cols + c];
                    ref += p;
                    mag += Math.abs(p);
                }
                assertEquals(ref, got[1 + r], 2e-6 * Math.sqrt(cols) * mag + 1e-30,
                        format + " " + kernels.name() + (q8path ? " q8" : " float") + " token " + t + " row " + r);
            }
        }
        }
    }

    @Test
    void quantizationErrorIsHalfAStep() {
        Random rnd = new Random(5);
        float[] x = new float[4 * 64];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian() * (i < 64 ? 0f : 3f);
        Q8Activations q8 = new Q8Activations().quantize(x, 4, 64);
        float[] back = Q8Activations.dequantize(q8.q, q8.d, x.length);
        for (int i = 0; i < x.length; i++) {
            assertTrue(Math.abs(q8.q[i]) <= 127);
            assertEquals(x[i], back[i], q8.d[i / 32] * 0.5f + 1e-7f, "element " + i);
        }
        assertEquals(0f, q8.d[0]); // an all-zero block has scale 0 and codes 0
    }
}
