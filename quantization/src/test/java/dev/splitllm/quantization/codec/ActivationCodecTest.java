package dev.splitllm.quantization.codec;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.quantization.Half;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ActivationCodecTest {
    private final ActivationCodec codec = new ActivationCodec();

    private float[] roundTrip(CodecSpec spec, float[] x, int tokens, int dim) throws CorruptPayloadException {
        return codec.decode(spec, codec.encode(spec, x, tokens, dim), tokens, dim, null);
    }

    @Test
    void fp32IsBitExactForEveryFiniteValue() throws Exception {
        Random random = new Random(1);
        int tokens = 5, dim = 33;
        float[] x = new float[tokens * dim];
        for (int i = 0; i < x.length; i++) {
            x[i] = Float.intBitsToFloat(random.nextInt());
            if (!Float.isFinite(x[i])) {
                x[i] = -0.0f;
            }
        }
        x[0] = Float.MIN_VALUE;
        x[1] = -Float.MAX_VALUE;
        byte[] payload = codec.encode(CodecSpec.fp32(), x, tokens, dim);
        assertEquals(4 * tokens * dim, payload.length);
        float[] y = codec.decode(CodecSpec.fp32(), payload, tokens, dim, null);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]), "element " + i);
        }
    }

    @Test
    void nonFiniteInputIsRejectedInEveryMode() {
        for (String s : new String[] {"fp32", "fp16", "q8_0", "uniform:bits=4", "tabq", "tabq:tau=3", "tabq:tau=3,rot"}) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float[] x = new float[64];
                x[37] = bad;
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> codec.encode(CodecSpec.parse(s), x, 2, 32), s + " " + bad);
                assertTrue(e.getMessage().contains("non-finite") || e.getMessage().contains("fp16"), e.getMessage());
            }
        }
        float[] huge = {1e5f, 0f};
        assertThrows(IllegalArgumentException.class, () -> codec.encode(CodecSpec.fp16(), huge, 1, 2));
    }

    @Test
    void fp16EqualsHalfRounding() throws Exception {
        Random random = new Random(2);
        float[] x = new float[3 * 50];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(9) - 6));
        }
        float[] y = roundTrip(CodecSpec.fp16(), x, 3, 50);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Half.toFloat(Half.fromFloat(x[i])), y[i], 0f, "element " + i);
        }
    }

    @Test
    void q8ErrorIsWithinHalfAStep() throws Exception {
        Random random = new Random(3);
        for (int dim : new int[] {32, 288, 45}) {
            int tokens = 7;
            float[] x = CodecTestData.activations(random, tokens, dim);
            byte[] payload = codec.encode(CodecSpec.q8_0(), x, tokens, dim);
            assertEquals(tokens * Q8Rows.rowBytes(dim), payload.length);
            float[] y = codec.decode(CodecSpec.q8_0(), payload, tokens, dim, null);
            int p = 0;
            for (int t = 0; t < tokens; t++) {
                for (int start = 0; start < dim; start += 32) {
                    int n = Math.min(32, dim - start);
                    float s = CodecTestData.halfAt(payload, p);
                    float amax = 0f;
                    for (int i = 0; i < n; i++) {
                        int at = t * dim + start + i;
                        amax = Math.max(amax, Math.abs(x[at]));
                        assertTrue(Math.abs(x[at] - y[at]) <= s / 2 * (1 + 1e-6f), "error above s/2 at " + at);
                        assertEquals(payload[p + 2 + i] * s, y[at], 0f);
                    }
                    assertTrue(s >= amax / 127f && Half.toFloat((short) (Half.fromFloat(s) - 1)) < amax / 127f,
                            "scale is the smallest fp16 >= amax/127");
                    p += 2 + n;
                }
            }
        }
        assertEquals(8.5, ActivationCodec.bitsPerElement(Q8Rows.rowBytes(288), 1, 288), 1e-12);
    }

    @Test
    void uniformErrorIsWithinHalfAStepAndZeroIsExact() throws Exception {
        Random random = new Random(4);
        int tokens = 9, dim = 100;
        float[] x = CodecTestData.activations(random, tokens, dim);
        for (int c = 0; c < dim; c++) {
            x[2 * dim + c] = Math.abs(x[2 * dim + c]) + 1f; // all positive: zero outside [min, max]
            x[3 * dim + c] = 0f;                           // all zero
        }
        for (int bits = 1; bits <= 8; bits++) {
            CodecSpec spec = CodecSpec.uniform(bits);
            byte[] payload = codec.encode(spec, x, tokens, dim);
            assertEquals(tokens * (4 + BitPacker.packedBytes(dim, bits)), payload.length);
            float[] y = codec.decode(spec, payload, tokens, dim, null);
            int[] offsets = CodecTestData.recordOffsets(payload, tokens, dim, false, 0);
            for (int t = 0; t < tokens; t++) {
                assertEquals(bits, payload[offsets[t]]);
                float s = CodecTestData.halfAt(payload, offsets[t] + 1);
                for (int c = 0; c < dim; c++) {
                    int i = t * dim + c;
                    assertTrue(Math.abs(x[i] - y[i]) <= s / 2 * (1 + 1e-6f) + 1e-30f,
                            "bits " + bits + " token " + t + " error " + Math.abs(x[i] - y[i]) + " step " + s);
                    if (x[i] == 0f) {
                        assertEquals(0f, y[i], 0f, "zero must stay exact");
                    }
                }
            }
        }
    }

    @Test
    void eachTokenRecordDecodesOnItsOwn() throws Exception {
        Random random = new Random(12);
        int tokens = 6, dim = 77;
        float[] x = CodecTestData.activations(random, tokens, dim);
        for (String s : new String[] {"tabq:eps=0.001,tau=3", "uniform:bits=5", "tabq:bits=1/3/7,rot=4"}) {
            CodecSpec spec = CodecSpec.parse(s);
            byte[] payload = codec.encode(spec, x, tokens, dim);
            float[] all = codec.decode(spec, payload, tokens, dim, null);
            int[] offsets = CodecTestData.recordOffsets(payload, tokens, dim, spec.thresholdSplit(), 0);
            for (int t = 0; t < tokens; t++) {
                float[] one = codec.decode(spec, payload, offsets[t], offsets[t + 1] - offsets[t], 1, dim, null);
                assertArrayEquals(Arrays.copyOfRange(all, t * dim, (t + 1) * dim), one, 0f, s + " token " + t);
            }
        }
    }

    @Test
    void decodeIntoReusesTheCallersBuffer() throws Exception {
        Random random = new Random(13);
        float[] x = CodecTestData.activations(random, 3, 50);
        CodecSpec spec = CodecSpec.parse("tabq:tau=3");
        byte[] payload = codec.encode(spec, x, 3, 50);
        float[] buffer = new float[200];
        Arrays.fill(buffer, 7f);
        assertSame(buffer, codec.decodeInto(spec, payload, 0, payload.length, 3, 50, null, 1 << 20, buffer));
        assertArrayEquals(codec.decode(spec, payload, 3, 50, null), Arrays.copyOf(buffer, 150), 0f);
        assertEquals(7f, buffer[150], "values past T*d untouched");
        assertThrows(IllegalArgumentException.class,
                () -> codec.decodeInto(spec, payload, 0, payload.length, 3, 50, null, 1 << 20, new float[149]));
    }

    @Test
    void tiesRoundHalfAwayFromZeroOnTheShiftedValue() throws Exception {
        // lo = -3, hi = 4, 3 bits: s = 1 exactly, z = 3. The halves sit exactly on ties; the
        // shifted values r/s + z are 3.5, 2.5, 4.5, 1.5, 5.5, 0.5 and round away from zero (up).
        float[] row = {-3f, 4f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f};
        byte[] payload = codec.encode(CodecSpec.uniform(3), row, 1, row.length);
        assertEquals(1f, CodecTestData.halfAt(payload, 1));
        assertEquals(3, payload[3]);
        float[] y = codec.decode(CodecSpec.uniform(3), payload, 1, row.length, null);
        assertArrayEquals(new float[] {-3f, 4f, 1f, 0f, 2f, -1f, 3f, -2f}, y, 0f);
        float[] q8 = roundTrip(CodecSpec.q8_0(), new float[] {127f, 0.5f, -0.5f, 2.5f, -2.5f}, 1, 5);
        assertArrayEquals(new float[] {127f, 1f, -1f, 3f, -3f}, q8, 0f);
    }

    /** Relative MSE of the per-token min-max quantizer at {@code bits}, measured through the codec. */
    private double relativeMse(float[] row, int bits) throws CorruptPayloadException {
        float[] y = roundTrip(CodecSpec.uniform(bits), row, 1, row.length);
        double err = 0, norm = 0;
        for (int i = 0; i < row.length; i++) {
            double e = row[i] - y[i];
            err += e * e;
            norm += (double) row[i] * row[i];
        }
        return norm == 0 ? 0 : err / norm;
    }

    @Test
    void tabqPicksTheSmallestWidthMeetingEpsilon() throws Exception {
        Random random = new Random(5);
        int dim = 96, tokens = 60;
        int checked = 0;
        for (String s : new String[] {"tabq:eps=0.001", "tabq:eps=0.01,bits=2/4/8", "tabq:eps=0.0001,bits=1/3/5/7",
            "tabq:eps=0.003,tau=4", "tabq:eps=0.00001"}) {
            CodecSpec spec = CodecSpec.parse(s);
            float[] x = CodecTestData.activations(random, tokens, dim);
            for (int c = 0; c < dim; c++) {
                x[c] = 0f;                                    // token 0: all zero, smallest width
                x[dim + c] = (c % 2 == 0) ? 1f : -1f;         // token 1: two levels, exact at low widths
                x[2 * dim + c] = c == 7 ? 50f : x[2 * dim + c] * 0.01f; // token 2: one spike
            }
            byte[] payload = codec.encode(spec, x, tokens, dim);
            int[] offsets = CodecTestData.recordOffsets(payload, tokens, dim, spec.thresholdSplit(), 0);
            assertEquals(payload.length, offsets[tokens]);
            int[] histogram = codec.lastBitHistogram();
            for (int t = 0; t < tokens; t++) {
                float[] remainder = Arrays.copyOfRange(x, t * dim, (t + 1) * dim);
                for (int c = 0; c < dim; c++) {
                    if (Math.abs(remainder[c]) > spec.tau()) {
                        remainder[c] = 0f;
                    }
                }
                int expected = spec.maxBits();
                boolean borderline = false;
                for (int b : spec.bitWidths()) {
                    double mse = relativeMse(remainder, b);
                    borderline |= Math.abs(mse - spec.epsilon()) <= 1e-4 * spec.epsilon();
                    if (mse <= spec.epsilon()) {
                        expected = b;
                        break;
                    }
                }
                int chosen = payload[offsets[t]];
                histogram[chosen]--;
                if (!borderline) {
                    assertEquals(expected, chosen, s + " token " + t);
                    checked++;
                }
            }
            assertEquals(0, Arrays.stream(histogram).sum(), "histogram counts every token");
            assertEquals(spec.minBits(), payload[offsets[0]], "all-zero token takes the smallest width");
        }
        assertTrue(checked > 250, "too many borderline tokens: " + checked);
    }

    @Test
    void outliersComeBackExactlyAtFp16() throws Exception {
        Random random = new Random(6);
        int tokens = 20, dim = 288;
        float tau = 3f;
        CodecSpec spec = CodecSpec.parse("tabq:eps=0.01,bits=2/4,tau=3");
        float[] x = CodecTestData.activations(random, tokens, dim);
        byte[] payload = codec.encode(spec, x, tokens, dim);
        float[] y = codec.decode(spec, payload, tokens, dim, null);
        int[] offsets = CodecTestData.recordOffsets(payload, tokens, dim, true, 0);
        int outliers = 0;
        for (int t = 0; t < tokens; t++) {
            float s = CodecTestData.halfAt(payload, offsets[t] + 1);
            int bits = payload[offsets[t]];
            int countAt = offsets[t] + 4 + (int) BitPacker.packedBytes(dim, bits);
            int count = (payload[countAt] & 0xff) | (payload[countAt + 1] & 0xff) << 8;
            int expectedCount = 0;
            for (int c = 0; c < dim; c++) {
                int i = t * dim + c;
                if (Math.abs(x[i]) > tau) {
                    expectedCount++;
                    assertEquals(Half.toFloat(Half.fromFloat(x[i])), y[i], 0f, "outlier token " + t + " channel " + c);
                } else {
                    assertTrue(Math.abs(x[i] - y[i]) <= s / 2 * (1 + 1e-6f), "remainder error above s/2");
                }
            }
            assertEquals(expectedCount, count);
            outliers += count;
        }
        assertTrue(outliers > 50, "test data should have outliers, got " + outliers);
    }

    @Test
    void sessionChannelsTravelWithoutIndices() throws Exception {
        Random random = new Random(8);
        int tokens = 16, dim = 64;
        float[] x = CodecTestData.activations(random, tokens, dim);
        for (int t = 0; t < tokens; t++) {
            x[t * dim + 9] = 40f + t;                       // every token
            x[t * dim + 30] = t % 2 == 0 ? -35f : 0.5f;     // half the tokens
            x[t * dim + 50] = t == 3 ? 90f : 0.1f;          // one token: stays a per-token outlier
        }
        OutlierChannels channels = OutlierChannels.select(x, tokens, dim, 20f);
        assertEquals(OutlierChannels.of(9, 30), channels);
        CodecSpec spec = CodecSpec.parse("tabq:eps=0.001,tau=20,channels=session");
        byte[] payload = codec.encode(spec, x, tokens, dim, channels);
        float[] y = codec.decode(spec, payload, tokens, dim, channels);
        for (int t = 0; t < tokens; t++) {
            assertEquals(40f + t, y[t * dim + 9], 0f);
            assertEquals(Half.toFloat(Half.fromFloat(x[t * dim + 30])), y[t * dim + 30], 0f);
        }
        assertEquals(90f, y[3 * dim + 50], 0f);
        CodecSpec plain = CodecSpec.parse("tabq:eps=0.001,tau=20");
        assertTrue(payload.length < codec.encode(plain, x, tokens, dim).length, "session channels save the indices");
        assertThrows(IllegalArgumentException.class, () -> codec.encode(spec, x, tokens, dim), "needs the channels");
        assertThrows(IllegalArgumentException.class, () -> codec.encode(plain, x, tokens, dim, channels));
        assertThrows(CorruptPayloadException.class, () -> codec.decode(spec, payload, tokens, dim, OutlierChannels.of(9)),
                "a different channel set does not parse");
    }

    @Test
    void rotationRoundTripsAndTamesSpikes() throws Exception {
        Random random = new Random(9);
        for (int dim : new int[] {288, 2048, 7, 1}) {
            HadamardRotation rotation = new HadamardRotation(dim, 1234);
            assertEquals(Math.min(128, Integer.lowestOneBit(dim)), rotation.block());
            float[] row = new float[dim];
            for (int i = 0; i < dim; i++) {
                row[i] = (float) random.nextGaussian();
            }
            float[] copy = row.clone();
            rotation.forward(row, 0);
            double before = 0, after = 0;
            for (int i = 0; i < dim; i++) {
                before += (double) copy[i] * copy[i];
                after += (double) row[i] * row[i];
            }
            assertEquals(before, after, 1e-5 * before, "orthonormal");
            rotation.inverse(row, 0);
            for (int i = 0; i < dim; i++) {
                assertEquals(copy[i], row[i], 1e-5f, "dim " + dim + " channel " + i);
            }
        }
        int tokens = 8, dim = 256;
        float[] x = new float[tokens * dim];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        for (int t = 0; t < tokens; t++) {
            x[t * dim + 17] = 60f;
        }
        double plain = mse(x, roundTrip(CodecSpec.uniform(4), x, tokens, dim));
        double rotated = mse(x, roundTrip(CodecSpec.uniform(4).withRotation(77), x, tokens, dim));
        assertTrue(rotated < plain / 4, "rotation should spread the spike: " + rotated + " vs " + plain);
        float[] q8 = roundTrip(CodecSpec.q8_0().withRotation(5), x, tokens, dim);
        assertTrue(mse(x, q8) < 1e-3, "q8_0 with rotation round-trips");
        assertNotEquals(Arrays.toString(codec.encode(CodecSpec.uniform(4).withRotation(1), x, 1, dim)),
                Arrays.toString(codec.encode(CodecSpec.uniform(4).withRotation(2), x, 1, dim)), "seed matters");
    }

    private static double mse(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double e = a[i] - b[i];
            s += e * e;
        }
        return s / a.length;
    }

    @Test
    void zstdChangesNothingButTheSize() throws Exception {
        Random random = new Random(10);
        int tokens = 40, dim = 288;
        float[] x = CodecTestData.activations(random, tokens, dim);
        for (String s : new String[] {"fp32", "fp16", "q8_0", "uniform:bits=3", "tabq:eps=0.001,tau=4", "tabq:tau=4,rot"}) {
            CodecSpec spec = CodecSpec.parse(s);
            float[] plain = roundTrip(spec, x, tokens, dim);
            byte[] compressed = codec.encode(spec.withZstd(), x, tokens, dim);
            float[] viaZstd = codec.decode(spec.withZstd(), compressed, tokens, dim, null);
            assertArrayEquals(plain, viaZstd, 0f, s);
            assertEquals(codec.encode(spec, x, tokens, dim).length, ByteReader.getInt(compressed, 0), "raw length prefix");
        }
    }

    @Test
    void malformedPayloadsAreRejected() throws Exception {
        Random random = new Random(11);
        int tokens = 3, dim = 40;
        float[] x = CodecTestData.activations(random, tokens, dim);
        CodecSpec spec = CodecSpec.parse("tabq:eps=0.01,bits=2/4/8,tau=2");
        byte[] good = codec.encode(spec, x, tokens, dim);
        codec.decode(spec, good, tokens, dim, null);
        int[] offsets = CodecTestData.recordOffsets(good, tokens, dim, true, 0);

        assertCorrupt(spec, Arrays.copyOf(good, good.length - 1), tokens, dim, "truncated");
        assertCorrupt(spec, Arrays.copyOf(good, good.length + 1), tokens, dim, "trailing");
        byte[] badBits = good.clone();
        badBits[offsets[1]] = 3;
        assertCorrupt(spec, badBits, tokens, dim, "not allowed");
        byte[] badScale = good.clone();
        badScale[offsets[0] + 2] = (byte) 0xfc; // fp16 sign bit and exponent ones: -inf
        assertCorrupt(spec, badScale, tokens, dim, "scale");
        byte[] badZero = good.clone();
        int bits0 = good[offsets[0]];
        badZero[offsets[0] + 3] = (byte) (1 << bits0);
        assertCorrupt(spec, badZero, tokens, dim, bits0 == 8 ? "" : "zero point");
        byte[] badCount = good.clone();
        int countAt = offsets[0] + 4 + (int) BitPacker.packedBytes(dim, bits0);
        badCount[countAt] = (byte) (dim + 1);
        badCount[countAt + 1] = 0;
        assertCorrupt(spec, badCount, tokens, dim, "outlier count");
        assertCorrupt(spec, new byte[0], tokens, dim, "outside");
        assertCorrupt(spec.withZstd(), new byte[] {1, 0, 0, 0, 9, 9}, tokens, dim, "outside");
        byte[] zstd = codec.encode(spec.withZstd(), x, tokens, dim);
        zstd[zstd.length - 3] ^= 0x55;
        assertThrows(CorruptPayloadException.class, () -> codec.decode(spec.withZstd(), zstd, tokens, dim, null));
        byte[] fp16 = codec.encode(CodecSpec.fp16(), x, tokens, dim);
        fp16[1] = (byte) 0x7c; // +inf
        fp16[0] = 0;
        assertCorrupt(CodecSpec.fp16(), fp16, tokens, dim, "not finite");
    }

    private void assertCorrupt(CodecSpec spec, byte[] payload, int tokens, int dim, String reason) {
        CorruptPayloadException e = assertThrows(CorruptPayloadException.class,
                () -> codec.decode(spec, payload, tokens, dim, null));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    @Test
    void sizesMatchTheLayout() {
        CodecSpec tabq = CodecSpec.parse("tabq:tau=3");
        assertEquals(4 + 288 + 2 + 4 * 288, ActivationCodec.maxTokenBytes(tabq, 288, 0));
        assertEquals(4 + 72 + 2, ActivationCodec.minTokenBytes(tabq, 288, 0));
        assertEquals(4 + 144, ActivationCodec.maxTokenBytes(CodecSpec.uniform(4), 288, 0));
        assertEquals(4.0 * 8 * (4 + 144) / 288 / 4, ActivationCodec.bitsPerElement(4 * (4 + 144), 4, 288), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> codec.encode(CodecSpec.fp32(), new float[10], 2, 6));
        assertThrows(IllegalArgumentException.class, () -> codec.encode(CodecSpec.fp32(), new float[10], 0, 6));
        assertThrows(IllegalArgumentException.class, () -> codec.encode(CodecSpec.fp32(), new float[70000], 1, 70000));
    }
}
