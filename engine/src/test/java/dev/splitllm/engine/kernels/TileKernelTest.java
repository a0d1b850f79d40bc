package dev.splitllm.engine.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.kernels.vector.VectorKernels;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The prefill kernels: the F32 2 x 2 tile gives each product exactly {@link Kernels#dotF32}'s bits
 * (an F32 prefill must equal decoding token by token), and the transposed panel gives each product
 * the same ordered chain whatever shares the call (a token's bits must not depend on its
 * neighbours), on every kernel set, with and without tails.
 */
class TileKernelTest {

    @ParameterizedTest(name = "{0} n={1}")
    @CsvSource({"scalar,288", "scalar,101", "scalar,2", "vector256,288", "vector256,100", "vector256,7",
        "vector512,768", "vector512,288", "vector512,100", "vector512,3",
        "scalar,48", "vector256,48", "vector512,48", "vector512,64"}) // 48, 64: attention head sizes
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

    /**
     * The transposed prefill panel: every product is the k-ordered chain of multiply-adds (fused on
     * the vector kernels, plain on the scalar ones), whatever the number of tokens in the call, so
     * a batch may be cut anywhere without changing a bit.
     */
    @ParameterizedTest(name = "{0} n={1}")
    @CsvSource({"scalar,288", "scalar,5", "vector512,288", "vector512,768", "vector512,1"})
    void transposedPanelIsTheOrderedChainForEveryTokenCount(String kernels, int n) {
        Kernels k = kernels.equals("vector512") ? new VectorKernels(512) : KernelProvider.select("scalar");
        boolean fused = !kernels.equals("scalar");
        int p = Kernels.PANEL_ROWS;
        Random rnd = new Random(7L * n);
        float[] panel = new float[n * p];
        for (int i = 0; i < panel.length; i++) panel[i] = (float) rnd.nextGaussian();
        int xStride = n + 3;
        float[] x = new float[1 + 4 * xStride];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int nt = 1; nt <= 4; nt++) {
            int tokStride = p + 5;
            float[] out = new float[2 + 4 * tokStride];
            java.util.Arrays.fill(out, Float.NaN);
            k.panel32(panel, x, 1, xStride, n, nt, out, 2, tokStride);
            for (int j = 0; j < 4; j++) {
                for (int r = 0; r < p; r++) {
                    float got = out[2 + j * tokStride + r];
                    if (j >= nt) {
                        assertTrue(Float.isNaN(got), "token " + j + " was not asked for");
                        continue;
                    }
                    float acc = 0f;
                    for (int c = 0; c < n; c++) {
                        float w = panel[c * p + r], v = x[1 + j * xStride + c];
                        acc = fused ? Math.fma(w, v, acc) : acc + w * v;
                    }
                    assertEquals(Float.floatToRawIntBits(acc), Float.floatToRawIntBits(got),
                            kernels + " nt=" + nt + " token " + j + " row " + r + ": " + acc + " vs " + got);
                }
            }
        }
    }
}
