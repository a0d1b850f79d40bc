package dev.splitllm.quantization.weights;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.quantization.Half;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The k-quant super-blocks: Q5_K decoded from a block written field by field from ggml's layout
 * (Q4_K and Q6_K are checked against gguf-py's own decoder in the engine's GgufReaderTest), the
 * encoders' error on Gaussian weights, their exactness on values the grid holds, and bad input.
 */
class KQuantizerTest {

    /** Q5_K built by hand: d = 1, dmin = 0.5, sub-block j has scale j + 1 and min 2j, code of element e = 7e mod 32. */
    @Test
    void q5kHandBuiltBlockDecodesByTheLayout() {
        byte[] b = new byte[176];
        short one = Half.fromFloat(1f), half = Half.fromFloat(0.5f);
        b[0] = (byte) one;
        b[1] = (byte) (one >> 8);
        b[2] = (byte) half;
        b[3] = (byte) (half >> 8);
        for (int j = 0; j < 8; j++) {
            int sc = j + 1, m = 2 * j; // all below 16: no high bits in bytes 0..7
            if (j < 4) {
                b[4 + j] = (byte) sc;
                b[4 + j + 4] = (byte) m;
            } else {
                b[4 + j + 4] = (byte) (sc | (m << 4));
            }
        }
        for (int e = 0; e < 256; e++) {
            int q = (7 * e) % 32, c = e / 64, hi = (e % 64) / 32, l = e % 32;
            b[48 + 32 * c + l] |= (byte) ((q & 0xF) << (4 * hi));
            if (q > 15) b[16 + l] |= (byte) (1 << (2 * c + hi));
        }
        float[] y = new float[256];
        KQuantizer.dequantizeQ5K(b, 0, 256, y, 0);
        for (int e = 0; e < 256; e++) {
            int j = e / 32;
            assertEquals((j + 1) * ((7 * e) % 32) - 0.5f * (2 * j), y[e], 0f, "element " + e);
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void gaussianWeightsRoundTripWithinTheFormatsError(WeightFormat f) {
        Random rnd = new Random(5);
        int n = 256 * 64;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * 0.02);
        float[] y = WeightQuantizer.roundTrip(f, x, 0, 64, 256, "w");
        double err = 0, sig = 0;
        for (int i = 0; i < n; i++) {
            err += (x[i] - y[i]) * (double) (x[i] - y[i]);
            sig += x[i] * (double) x[i];
        }
        double rel = Math.sqrt(err / sig);
        // Uniform step over a sub-block's range: ~4.6 sigma / levels, rms error step / sqrt(12).
        double bound = f == WeightFormat.Q4_K ? 0.11 : f == WeightFormat.Q5_K ? 0.055 : 0.035;
        System.out.printf("%s: relative rms error %.4f on N(0, 0.02) weights%n", f.id(), rel);
        assertTrue(rel < bound, f + " relative rms error " + rel);
        assertTrue(rel > bound / 8, f + " error " + rel + " is implausibly small: is it quantizing?");
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void decodedWeightsEncodeAgainToCloseValuesAndAllZeroIsExact(WeightFormat f) {
        Random rnd = new Random(8);
        float[] x = new float[512];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] once = WeightQuantizer.roundTrip(f, x, 0, 1, 512, "w");
        float[] twice = WeightQuantizer.roundTrip(f, once, 0, 1, 512, "w");
        double step = f == WeightFormat.Q4_K ? 0.5 : f == WeightFormat.Q5_K ? 0.25 : 0.12;
        for (int i = 0; i < x.length; i++) assertEquals(once[i], twice[i], step, f + " element " + i);
        float[] zeros = WeightQuantizer.roundTrip(f, new float[256], 0, 1, 256, "w");
        for (float v : zeros) assertEquals(0f, v, 0f);
    }

    @Test
    void rowsNotMultipleOf256FallBackToQ8_0AndAreRefusedByTheQuantizer() {
        assertEquals(WeightFormat.Q8_0, WeightFormat.Q4_K.forRowLength(288));
        assertEquals(WeightFormat.Q6_K, WeightFormat.Q6_K.forRowLength(768));
        assertEquals(WeightFormat.Q4_0, WeightFormat.Q4_0.forRowLength(288));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WeightQuantizer.roundTrip(WeightFormat.Q4_K, new float[288], 0, 1, 288, "layers.0.wq"));
        assertTrue(e.getMessage().contains("layers.0.wq") && e.getMessage().contains("multiple of 256"), e.getMessage());
    }

    @Test
    void hugeWeightsAreRefusedNamingTheTensor() {
        float[] x = new float[256];
        x[3] = 1e10f;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WeightQuantizer.roundTrip(WeightFormat.Q6_K, x, 0, 1, 256, "output"));
        assertTrue(e.getMessage().contains("output"), e.getMessage());
    }

    @Test
    void parseNamesTheKQuants() {
        assertEquals(WeightFormat.Q5_K, WeightFormat.parse("q5_k"));
        assertEquals(4.5, WeightFormat.Q4_K.bitsPerWeight(), 1e-12);
        assertEquals(6.5625, WeightFormat.Q6_K.bitsPerWeight(), 1e-12);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightFormat.parse("q3_k"));
        assertTrue(e.getMessage().contains("q4_k"), e.getMessage());
    }
}
