package dev.splitllm.quantization.codec;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RansTableTest {

    private static long[] skewedCounts(Random random, int bits) {
        long[] c = new long[1 << bits];
        for (int s = 0; s < c.length; s++) {
            double z = (s - c.length / 2.0) / (c.length / 8.0 + 0.5);
            c[s] = random.nextInt(4) == 0 ? 0 : (long) (1e6 * Math.exp(-z * z / 2));
        }
        return c;
    }

    @Test
    void roundTripsEveryWidthAndSkew() {
        Random random = new Random(1);
        for (int bits = 1; bits <= 8; bits++) {
            RansTable t = RansTable.fromCounts(bits, skewedCounts(random, bits));
            int sum = 0;
            for (int f : t.frequencies()) {
                assertTrue(f >= 1);
                sum += f;
            }
            assertEquals(RansTable.TOTAL, sum);
            for (int trial = 0; trial < 20; trial++) {
                int n = 1 + random.nextInt(700);
                byte[] codes = new byte[n];
                for (int i = 0; i < n; i++) {
                    // mostly typical codes, some from anywhere in the alphabet (rare, frequency 1)
                    codes[i] = (byte) (random.nextInt(5) == 0 ? random.nextInt(1 << bits)
                            : Math.max(0, Math.min((1 << bits) - 1, (1 << bits) / 2 + (int) (random.nextGaussian() * (1 << bits) / 10.0))));
                }
                byte[] out = new byte[(int) (RansTable.STATE_BYTES + 2L * n) + 3];
                byte[] scratch = new byte[RansTable.STATE_BYTES + 2 * n];
                int len = t.encode(codes, n, scratch, out, 3);
                assertTrue(len <= RansTable.STATE_BYTES + 2 * n);
                byte[] back = new byte[n];
                assertEquals(len, t.decode(out, 3, 3 + len, back, n), "bits " + bits + " n " + n);
                assertArrayEquals(codes, back);
                // one byte short: detected, never an exception
                assertEquals(-1, t.decode(out, 3, 3 + len - 1, back, n));
            }
        }
    }

    @Test
    void compressesAPeakedSource() {
        Random random = new Random(2);
        long[] counts = new long[256];
        byte[] codes = new byte[4096];
        for (int i = 0; i < codes.length; i++) {
            int s = Math.max(0, Math.min(255, 128 + (int) Math.round(random.nextGaussian() * 6)));
            codes[i] = (byte) s;
            counts[s]++;
        }
        RansTable t = RansTable.fromCounts(8, counts);
        byte[] out = new byte[4 + 2 * codes.length];
        int len = t.encode(codes, codes.length, new byte[4 + 2 * codes.length], out, 0);
        double bitsPerCode = 8.0 * len / codes.length;
        // entropy of a discretised N(0, 6^2) is about 4.63 bits; the 8-bit codes shrink to near it
        assertTrue(bitsPerCode < 4.8, "bits per code " + bitsPerCode);
    }

    @Test
    void corruptStreamsNeverThrow() {
        Random random = new Random(3);
        RansTable t = RansTable.fromCounts(4, skewedCounts(random, 4));
        byte[] back = new byte[300];
        int ok = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] junk = new byte[random.nextInt(400)];
            random.nextBytes(junk);
            int n = t.decode(junk, 0, junk.length, back, 1 + random.nextInt(300));
            assertTrue(n >= -1 && n <= junk.length);
            ok += n >= 0 ? 1 : 0;
        }
        assertTrue(ok < 200, "random bytes almost never end in the initial state, got " + ok);
    }

    @Test
    void reciprocalDivisionIsExact() {
        Random random = new Random(4);
        for (int f = 1; f < RansTable.TOTAL; f++) {
            int k = 31 + (32 - Integer.numberOfLeadingZeros(f - 1));
            long m = ((1L << k) + f - 1) / f;
            for (int i = 0; i < 200; i++) {
                int x = i < 3 ? Integer.MAX_VALUE - i : random.nextInt(Integer.MAX_VALUE);
                assertEquals(x / f, (int) ((x * m) >>> k), "x " + x + " f " + f);
            }
        }
    }

    @Test
    void rejectsBadTables() {
        assertThrows(IllegalArgumentException.class, () -> new RansTable(2, new int[] {1024, 1024, 1024, 1023}));
        assertThrows(IllegalArgumentException.class, () -> new RansTable(2, new int[] {0, 2048, 1024, 1024}));
        assertThrows(IllegalArgumentException.class, () -> new RansTable(9, new int[512]));
        assertThrows(IllegalArgumentException.class, () -> RansTable.fromCounts(3, new long[4]));
        assertEquals(RansTable.TOTAL / 16, RansTable.fromCounts(4, new long[16]).frequencies()[7]);
    }
}
