package dev.splitllm.quantization;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

class HalfTest {

    /** Reference: the nearest fp16 found by exhaustive search over the finite halves. */
    private static final float[] ALL_FINITE = new float[0x7c00];
    static {
        for (int h = 0; h < 0x7c00; h++) ALL_FINITE[h] = Half.toFloat((short) h);
    }

    @Test
    void everyHalfRoundTripsExactly() {
        for (int h = 0; h < 0x10000; h++) {
            float f = Half.toFloat((short) h);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(Half.toFloat(Half.fromFloat(f))));
                continue;
            }
            assertEquals(h, Half.fromFloat(f) & 0xffff, "half bits " + Integer.toHexString(h));
        }
    }

    @Test
    void knownValues() {
        assertEquals(1.0f, Half.toFloat((short) 0x3c00));
        assertEquals(-2.0f, Half.toFloat((short) 0xc000));
        assertEquals(65504f, Half.toFloat((short) 0x7bff));
        assertEquals(0x1p-24f, Half.toFloat((short) 0x0001));
        assertEquals(Float.POSITIVE_INFINITY, Half.toFloat((short) 0x7c00));
        assertEquals((short) 0x7c00, Half.fromFloat(70000f));
        assertEquals((short) 0xfc00, Half.fromFloat(Float.NEGATIVE_INFINITY));
        assertEquals((short) 0x8000, Half.fromFloat(-0.0f));
    }

    @Test
    void randomFloatsRoundToNearestEven() {
        Random rnd = new Random(42);
        for (int i = 0; i < 200_000; i++) {
            float f = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(10) - 6));
            float abs = Math.abs(f);
            if (abs > 65504f) continue;
            short h = Half.fromFloat(abs);
            float got = Half.toFloat(h);
            // Neighbours in the half grid must not be strictly closer.
            int hb = h & 0xffff;
            float err = Math.abs(got - abs);
            if (hb > 0) assertTrue(Math.abs(ALL_FINITE[hb - 1] - abs) >= err, "value " + abs);
            if (hb + 1 < ALL_FINITE.length) assertTrue(Math.abs(ALL_FINITE[hb + 1] - abs) >= err, "value " + abs);
            if (Math.abs(ALL_FINITE[Math.max(hb - 1, 0)] - abs) == err && hb > 0) {
                assertEquals(0, hb & 1, "tie must go to even for " + abs);
            }
            assertEquals(Half.fromFloat(-f) & 0x7fff, Half.fromFloat(f) & 0x7fff);
        }
    }

    @Test
    void bf16() {
        for (int i = 0; i < 0x10000; i++) {
            float f = Half.bf16ToFloat((short) i);
            if (Float.isNaN(f)) continue;
            assertEquals(i, Half.floatToBf16(f) & 0xffff);
        }
        assertEquals(1.0f, Half.bf16ToFloat(Half.floatToBf16(1.0f)));
        // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties to even (1.0).
        assertEquals(1.0f, Half.bf16ToFloat(Half.floatToBf16(1.00390625f)));
        assertTrue(Float.isNaN(Half.bf16ToFloat(Half.floatToBf16(Float.NaN))));
    }
}
