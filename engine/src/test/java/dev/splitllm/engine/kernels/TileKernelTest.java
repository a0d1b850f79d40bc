package dev.splitllm.engine.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.kernels.vector.VectorKernels;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The 4 x 4 prefill tile gives every product exactly the bits {@link Kernels#dot4F32} gives it
 * (prefill mixes tiles with single tokens, and a token's bits must not depend on its neighbours),
 * on every kernel set, with and without a scalar tail; and the F32 2 x 2 tile gives each product
 * exactly {@link Kernels#dotF32}'s bits (an F32 prefill must equal decoding token by token).
 */
class TileKernelTest {

    @ParameterizedTest(name = "{0} n={1}")
    @CsvSource({"scalar,288", "scalar,100", "vector256,288", "vector256,100", "vector512,768", "vector512,100", "vector512,3"})
    void tileEqualsFourRowKernelBitForBit(String kernels, int n) {
        Kernels k = kernels.equals("vector256") ? new VectorKernels(256)
                : kernels.equals("vector512") ? new VectorKernels(512) : KernelProvider.select("scalar");
        Random rnd = new Random(n);
        int aStride = n + 3, xStride = n + 5; // strides beyond n: rows are not packed
        float[] a = new float[7 + 4 * aStride], x = new float[2 + 4 * xStride];
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        int rowStride = 1, tokStride = 9;
        float[] tile = new float[64], four = new float[64];
        java.util.Arrays.fill(tile, Float.NaN);
        java.util.Arrays.fill(four, Float.NaN);
        k.dot4x4F32(a, 7, aStride, x, 2, xStride, n, tile, 1, rowStride, tokStride);
        for (int j = 0; j < 4; j++) {
            k.dot4F32(a, 7, 7 + aStride, 7 + 2 * aStride, 7 + 3 * aStride, x, 2 + j * xStride, n, four, 1 + j * tokStride, rowStride);
        }
        for (int i = 0; i < 64; i++) {
            assertEquals(Float.floatToRawIntBits(four[i]), Float.floatToRawIntBits(tile[i]), "slot " + i + ": " + four[i] + " vs " + tile[i]);
        }
        assertFalse(Float.isNaN(tile[1 + 3 * tokStride + 3]), "the last product was written");
    }

    @ParameterizedTest(name = "{0} n={1}")
    @CsvSource({"scalar,288", "scalar,101", "scalar,2", "vector256,288", "vector256,100", "vector256,7",
        "vector512,768", "vector512,288", "vector512,100", "vector512,3"})
    void f32TileEqualsTheOneTokenKernelBitForBit(String kernels, int n) {
        Kernels k = kernels.equals("vector256") ? new VectorKernels(256)
                : kernels.equals("vector512") ? new VectorKernels(512) : KernelProvider.select("scalar");
        Random rnd = new Random(31L * n);
        int aStride = n + 3, xStride = n + 5;
        float[] a = new float[7 + 2 * aStride], x = new float[2 + 2 * xStride];
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        int rowStride = 1, tokStride = 5;
        float[] tile = new float[16];
        java.util.Arrays.fill(tile, Float.NaN);
        k.dot2x2F32(a, 7, aStride, x, 2, xStride, n, tile, 1, rowStride, tokStride);
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 2; j++) {
                float one = k.dotF32(a, 7 + i * aStride, x, 2 + j * xStride, n);
                float got = tile[1 + i * rowStride + j * tokStride];
                assertEquals(Float.floatToRawIntBits(one), Float.floatToRawIntBits(got), "row " + i + ", token " + j + ": " + one + " vs " + got);
            }
        }
    }
}
