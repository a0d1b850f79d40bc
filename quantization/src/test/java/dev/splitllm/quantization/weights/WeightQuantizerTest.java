package dev.splitllm.quantization.weights;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.quantization.Half;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class WeightQuantizerTest {

    private static float scaleOf(byte[] w, int blockOff) {
        return Half.toFloat((short) ((w[blockOff] & 0xff) | (w[blockOff + 1] << 8)));
    }

    /** Random values of mixed magnitude: gaussian rows with a per-row scale over 6 decades. */
    private static float[] randomMatrix(Random rnd, int rows, int cols) {
        float[] m = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            float scale = (float) Math.pow(10, rnd.nextInt(7) - 4);
            for (int c = 0; c < cols; c++) {
                m[r * cols + c] = (float) rnd.nextGaussian() * scale;
            }
        }
        return m;
    }

    // ---- Q8_0 ------------------------------------------------------------------------------

    @Test
    void q8HandComputedBlock() {
        // absmax 127 gives d = 1 (fp16 0x3c00) and q = roundf(x), halves away from zero.
        float[] x = new float[32];
        float[] head = {127f, -127f, 2.5f, -2.5f, 0.49f, -0.5f, 1.5f, 0f, 100.4f, -3.51f};
        System.arraycopy(head, 0, x, 0, head.length);
        byte[] w = Q8_0Quantizer.quantize(x, 0, 1, 32, "hand");
        assertEquals(34, w.length);
        assertEquals(0x00, w[0] & 0xff);
        assertEquals(0x3c, w[1] & 0xff);
        byte[] expected = {127, -127, 3, -3, 0, -1, 2, 0, 100, -4};
        for (int j = 0; j < expected.length; j++) {
            assertEquals(expected[j], w[2 + j], "code " + j);
        }
        for (int j = expected.length; j < 32; j++) {
            assertEquals(0, w[2 + j]);
        }
    }

    @Test
    void q8ScaleIsAbsmaxOver127AsFp16() {
        float[] x = new float[32];
        x[3] = -0.7f;
        x[10] = 0.35f;
        byte[] w = Q8_0Quantizer.quantize(x, 0, 1, 32, "t");
        float d = 0.7f / 127;
        assertEquals(Half.fromFloat(d), (short) ((w[0] & 0xff) | (w[1] << 8)));
        assertEquals(-127, w[2 + 3]);
        // 0.35 * (1/d) = 63.5 (in float arithmetic just above or below): llama.cpp's roundf decides.
        assertEquals(Math.round(0.35f * (1.0f / d)), w[2 + 10]);
    }

    @Test
    void q8AllZeroBlockIsAllZeroBytes() {
        byte[] w = Q8_0Quantizer.quantize(new float[64], 0, 2, 32, "zeros");
        for (byte b : w) {
            assertEquals(0, b);
        }
        float[] back = new float[64];
        Q8_0Quantizer.dequantizeRow(w, 0, 32, back, 0);
        Q8_0Quantizer.dequantizeRow(w, 34, 32, back, 32);
        for (float v : back) {
            assertEquals(0f, v);
        }
    }

    @Test
    void q8SingleHugeValueKeepsItAndFlushesTheRest() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = 0.01f * (j - 16);
        x[7] = 30000f;
        byte[] w = Q8_0Quantizer.quantize(x, 0, 1, 32, "huge");
        float[] back = new float[32];
        Q8_0Quantizer.dequantizeRow(w, 0, 32, back, 0);
        assertEquals(127, w[2 + 7]);
        assertEquals(30000f, back[7], 30000f * 1e-3f); // fp16 scale rounding only
        for (int j = 0; j < 32; j++) {
            if (j != 7) assertEquals(0f, back[j], "small value " + j + " is below half a step");
        }
    }

    @Test
    void q8RoundTripWithinHalfStepPlusScaleRounding() {
        Random rnd = new Random(11);
        int rows = 37, cols = 96;
        float[] m = randomMatrix(rnd, rows, cols);
        byte[] w = Q8_0Quantizer.quantize(m, 0, rows, cols, "rand");
        float[] back = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            Q8_0Quantizer.dequantizeRow(w, r * (cols / 32 * 34), cols, back, r * cols);
        }
        for (int b = 0; b < rows * cols / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(m[b * 32 + j]));
            float d = amax / 127;
            float d16 = scaleOf(w, b * 34);
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                int q = w[b * 34 + 2 + j];
                double bound = d / 2 + Math.abs(q) * Math.abs(d - d16) + 1e-6 * amax;
                assertTrue(Math.abs(m[i] - back[i]) <= bound, "element " + i + ": " + m[i] + " -> " + back[i]);
                // While d is a normal fp16 (>= 2^-14) the scale's relative error is <= 2^-11, so the
                // nominal d/2 is exceeded by at most 127 * 2^-11 * d. Tiny blocks get a subnormal,
                // coarser scale (covered by the first bound only).
                if (d >= 0x1p-14f) assertTrue(Math.abs(m[i] - back[i]) <= d * (0.5 + 127 * 0x1p-11) + 1e-6 * amax);
            }
        }
    }

    @Test
    void roundfDiffersFromJavaRoundOnNegativeHalves() {
        assertEquals(-3, Q8_0Quantizer.roundAwayFromZero(-2.5f));
        assertEquals(3, Q8_0Quantizer.roundAwayFromZero(2.5f));
        assertEquals(0, Q8_0Quantizer.roundAwayFromZero(0.49999997f));
        assertEquals(-1, Q8_0Quantizer.roundAwayFromZero(-0.5f));
        assertEquals(0, Q8_0Quantizer.roundAwayFromZero(-0.4f));
    }

    // ---- Q4_0 ------------------------------------------------------------------------------

    @Test
    void q4HandComputedBlockWithNegativeMax() {
        // max = -8 (largest magnitude, sign kept) gives d = -8 / -8 = 1 and id = 1.
        float[] x = new float[32];
        float[] lowHalf = {-8f, 7f, 8f, 0f, 0.5f, -0.5f, 1.49f, -7.6f};
        float[] highHalf = {3f, -3f, 6.6f, 7.4f, -1f, 2.5f, -2.5f, 0.2f};
        System.arraycopy(lowHalf, 0, x, 0, lowHalf.length);
        System.arraycopy(highHalf, 0, x, 16, highHalf.length);
        byte[] w = Q4_0Quantizer.quantize(x, 0, 1, 32, "hand");
        assertEquals(18, w.length);
        assertEquals(0x00, w[0] & 0xff);
        assertEquals(0x3c, w[1] & 0xff);
        // q = min(15, (int)(x + 8.5)): truncation, clamp at 15.
        int[] qLow = {0, 15, 15, 8, 9, 8, 9, 0};
        int[] qHigh = {11, 5, 15, 15, 7, 11, 6, 8};
        for (int j = 0; j < 8; j++) {
            assertEquals(qLow[j] | (qHigh[j] << 4), w[2 + j] & 0xff, "byte " + j);
        }
        for (int j = 8; j < 16; j++) {
            assertEquals(0x88, w[2 + j] & 0xff, "zeros code as 8 in both nibbles, byte " + j);
        }
        float[] back = new float[32];
        Q4_0Quantizer.dequantizeRow(w, 0, 32, back, 0);
        assertEquals(-8f, back[0]);
        assertEquals(7f, back[2], "8 clamps to +7 steps");
        assertEquals(1f, back[4], "0.5 + 8.5 = 9 exactly, code 9");
    }

    @Test
    void q4PositiveMaxGivesNegativeScale() {
        float[] x = new float[32];
        x[5] = 16f;
        x[20] = -16f;
        x[21] = -3f;
        byte[] w = Q4_0Quantizer.quantize(x, 0, 1, 32, "t");
        assertEquals(-2f, scaleOf(w, 0));
        float[] back = new float[32];
        Q4_0Quantizer.dequantizeRow(w, 0, 32, back, 0);
        assertEquals(16f, back[5], "the extreme value is exact");
        assertEquals(-14f, back[20], "its opposite clamps to 7 steps of -2");
        assertEquals(-4f, back[21], "-3 * -0.5 + 8.5 = 10 -> (10-8)*-2");
    }

    @Test
    void q4AllZeroBlockStoresNegativeZeroScaleLikeLlamaCpp() {
        byte[] w = Q4_0Quantizer.quantize(new float[32], 0, 1, 32, "zeros");
        assertEquals(0x00, w[0] & 0xff);
        assertEquals(0x80, w[1] & 0xff);
        for (int j = 2; j < 18; j++) {
            assertEquals(0x88, w[j] & 0xff);
        }
        float[] back = new float[32];
        Q4_0Quantizer.dequantizeRow(w, 0, 32, back, 0);
        for (float v : back) assertEquals(0f, Math.abs(v));
    }

    @Test
    void q4SingleHugeValue() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = 0.5f;
        x[31] = -20000f;
        byte[] w = Q4_0Quantizer.quantize(x, 0, 1, 32, "huge");
        float[] back = new float[32];
        Q4_0Quantizer.dequantizeRow(w, 0, 32, back, 0);
        assertEquals(-20000f, back[31], 20000f * 1e-3f);
        for (int j = 0; j < 31; j++) assertEquals(0f, back[j]);
    }

    @Test
    void q4RoundTripBound() {
        Random rnd = new Random(12);
        int rows = 29, cols = 160;
        float[] m = randomMatrix(rnd, rows, cols);
        byte[] w = Q4_0Quantizer.quantize(m, 0, rows, cols, "rand");
        float[] back = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            Q4_0Quantizer.dequantizeRow(w, r * (cols / 32 * 18), cols, back, r * cols);
        }
        int clamped = 0;
        for (int b = 0; b < rows * cols / 32; b++) {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++) {
                float v = m[b * 32 + j];
                if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
            }
            float d = max / -8;
            float d16 = scaleOf(w, b * 18);
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                float steps = m[i] / d;
                double slack = 8 * Math.abs(d - d16) + 1e-6 * amax;
                double err = Math.abs(m[i] - back[i]);
                if (steps <= 7.5f) {
                    assertTrue(err <= Math.abs(d) / 2 + slack, "element " + i + ": " + m[i] + " -> " + back[i]);
                } else {
                    clamped++;
                    assertTrue(err <= Math.abs(d) + slack, "clamped element " + i);
                }
            }
        }
        assertTrue(clamped > 0, "random data should exercise the clamp at +7");
    }

    // ---- F16 / BF16 -----------------------------------------------------------------------

    @Test
    void halfFormatsRoundTripWithinHalfAnUlp() {
        Random rnd = new Random(13);
        float[] m = randomMatrix(rnd, 8, 64);
        short[] h = HalfQuantizer.quantize(WeightFormat.F16, m, 0, 8, 64, "f16");
        short[] b = HalfQuantizer.quantize(WeightFormat.BF16, m, 0, 8, 64, "bf16");
        for (int i = 0; i < m.length; i++) {
            float a = Math.abs(m[i]);
            float hf = Half.toFloat(h[i]);
            assertTrue(Math.abs(hf - m[i]) <= Math.max(a * 0x1p-11f, 0x1p-25f), "f16 " + m[i] + " -> " + hf);
            float bf = Half.bf16ToFloat(b[i]);
            assertTrue(Math.abs(bf - m[i]) <= a * 0x1p-8f, "bf16 " + m[i] + " -> " + bf);
            assertEquals(Half.fromFloat(m[i]), h[i]);
            assertEquals(Half.floatToBf16(m[i]), b[i]);
        }
    }

    @Test
    void f16OverflowIsRejectedNamingTheTensor() {
        float[] m = new float[32];
        m[9] = 70000f;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HalfQuantizer.quantize(WeightFormat.F16, m, 0, 1, 32, "layers.2.wq"));
        assertTrue(e.getMessage().contains("layers.2.wq") && e.getMessage().contains("f16"), e.getMessage());
        // bf16 has float's range: fine.
        assertEquals(Half.floatToBf16(70000f), HalfQuantizer.quantize(WeightFormat.BF16, m, 0, 1, 32, "x")[9]);
    }

    // ---- facade and bad input -------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void roundTripFacadeMatchesPerFormatQuantizers(WeightFormat f) {
        Random rnd = new Random(14);
        int rows = 5, cols = f.kQuant() ? 512 : 64;
        float[] m = randomMatrix(rnd, rows, cols);
        float[] rt = WeightQuantizer.roundTrip(f, m, 0, rows, cols, "m");
        float[] expected = new float[rows * cols];
        switch (f) {
            case F32: expected = m.clone(); break;
            case F16: HalfQuantizer.fromF16(HalfQuantizer.quantize(f, m, 0, rows, cols, "m"), 0, m.length, expected, 0); break;
            case BF16: HalfQuantizer.fromBF16(HalfQuantizer.quantize(f, m, 0, rows, cols, "m"), 0, m.length, expected, 0); break;
            case Q8_0: Q8_0Quantizer.dequantizeRow(Q8_0Quantizer.quantize(m, 0, rows, cols, "m"), 0, m.length, expected, 0); break;
            case Q4_0: Q4_0Quantizer.dequantizeRow(Q4_0Quantizer.quantize(m, 0, rows, cols, "m"), 0, m.length, expected, 0); break;
            case Q4_K: case Q5_K: case Q6_K: {
                byte[] b = new byte[(int) f.bytesFor(m.length)];
                if (f == WeightFormat.Q4_K) KQuantizer.quantizeQ4K(m, 0, m.length, b, 0, "m");
                if (f == WeightFormat.Q5_K) KQuantizer.quantizeQ5K(m, 0, m.length, b, 0, "m");
                if (f == WeightFormat.Q6_K) KQuantizer.quantizeQ6K(m, 0, m.length, b, 0, "m");
                if (f == WeightFormat.Q4_K) KQuantizer.dequantizeQ4K(b, 0, m.length, expected, 0);
                if (f == WeightFormat.Q5_K) KQuantizer.dequantizeQ5K(b, 0, m.length, expected, 0);
                if (f == WeightFormat.Q6_K) KQuantizer.dequantizeQ6K(b, 0, m.length, expected, 0);
                break;
            }
            default: fail();
        }
        assertArrayEquals(expected, rt);
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0"})
    void blockFormatsRejectRowsNotMultipleOf32(WeightFormat f) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WeightQuantizer.roundTrip(f, new float[2 * 48], 0, 2, 48, "layers.0.w2"));
        assertTrue(e.getMessage().contains("layers.0.w2") && e.getMessage().contains("multiple of 32"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void nonFiniteWeightsAreRejected(WeightFormat f) {
        int cols = Math.max(32, f.blockSize);
        float[] m = new float[2 * cols];
        m[40] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WeightQuantizer.roundTrip(f, m, 0, 2, cols, "emb"));
        assertTrue(e.getMessage().contains("emb") && e.getMessage().contains("40"), e.getMessage());
    }

    @Test
    void q8ScaleOverflowIsRejected() {
        float[] m = new float[32];
        m[0] = 1e10f;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Q8_0Quantizer.quantize(m, 0, 1, 32, "cls"));
        assertTrue(e.getMessage().contains("cls") && e.getMessage().contains("q8_0"), e.getMessage());
    }

    @Test
    void sourceTooShortIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Q4_0Quantizer.quantize(new float[100], 10, 3, 32, "wq"));
        assertTrue(e.getMessage().contains("wq"), e.getMessage());
    }
}
