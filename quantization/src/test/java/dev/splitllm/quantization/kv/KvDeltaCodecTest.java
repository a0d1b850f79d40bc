package dev.splitllm.quantization.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.splitllm.quantization.Half;
import dev.splitllm.quantization.kv.KvFrameException.KvReason;
import dev.splitllm.quantization.wire.Crc32c;
import dev.splitllm.quantization.wire.FrameException;
import java.util.Random;
import org.junit.jupiter.api.Test;

class KvDeltaCodecTest {
    private static final int KV_DIM = 288;

    /** KV-like rows: per-channel offsets and scales (keys have channel outliers), per-token noise. */
    static float[][] rows(Random r, int layers, int n, int kvDim, boolean keys) {
        float[][] out = new float[layers][n * kvDim];
        for (int l = 0; l < layers; l++) {
            float[] bias = new float[kvDim], amp = new float[kvDim];
            for (int c = 0; c < kvDim; c++) {
                bias[c] = keys ? (float) r.nextGaussian() * 2 : 0;
                amp[c] = keys && c % 37 == 5 ? 8 : 1;
            }
            for (int t = 0; t < n; t++) {
                for (int c = 0; c < kvDim; c++) {
                    out[l][t * kvDim + c] = bias[c] + amp[c] * (float) r.nextGaussian();
                }
            }
        }
        return out;
    }

    @Test
    void fp32IsBitExactForEveryFiniteValue() throws FrameException {
        Random r = new Random(1);
        float[][] k = rows(r, 3, 17, KV_DIM, true), v = rows(r, 3, 17, KV_DIM, false);
        k[0][0] = -0.0f;
        k[0][1] = Float.MIN_VALUE;
        k[1][2] = -Float.MAX_VALUE;
        v[2][3] = 1e-40f;
        byte[] f = KvDeltaCodec.encode(KvSpec.FP32, 0x1122334455667788L, 7, 1, 40, 17, KV_DIM, k, v);
        assertEquals(KvDeltaCodec.frameBytes(KvSpec.FP32, 3, 17, KV_DIM), f.length);
        assertEquals(52 + 3 * 2 * 17 * KV_DIM * 4, f.length);
        KvDelta d = KvDeltaCodec.decode(f, KvLimits.of(1, 4, 64, KV_DIM).withEpoch(7));
        assertEquals(0x1122334455667788L, d.sessionTag());
        assertEquals(7, d.epoch());
        assertEquals(40, d.start());
        assertEquals(17, d.positions());
        assertEquals(KvSpec.FP32, d.spec());
        for (int l = 0; l < 3; l++) {
            for (int i = 0; i < k[l].length; i++) {
                assertEquals(Float.floatToRawIntBits(k[l][i]), Float.floatToRawIntBits(d.keys()[l][i]));
                assertEquals(Float.floatToRawIntBits(v[l][i]), Float.floatToRawIntBits(d.values()[l][i]));
            }
        }
    }

    @Test
    void quantizedKindsStayWithinHalfAStepOfTheirGroup() throws FrameException {
        Random r = new Random(2);
        int n = 45;
        float[][] k = rows(r, 2, n, KV_DIM, true), v = rows(r, 2, n, KV_DIM, false);
        for (int bits : new int[] {2, 4, 8}) {
            for (int window : new int[] {0, 8, 100}) {
                for (int group : new int[] {32, 7}) {
                    KvSpec spec = KvSpec.kivi(bits, window, group);
                    byte[] f = KvDeltaCodec.encode(spec, 5, 0, 2, 0, n, KV_DIM, k, v);
                    assertEquals(KvDeltaCodec.frameBytes(spec, 2, n, KV_DIM), f.length, spec.toString());
                    KvDelta d = KvDeltaCodec.decode(f, KvLimits.of(2, 4, n, KV_DIM));
                    assertEquals(spec, d.spec());
                    int w = Math.min(window, n), q = n - w, levels = (1 << bits) - 1;
                    for (int l = 0; l < 2; l++) {
                        // keys: per channel over each group of positions
                        for (int g0 = 0; g0 < q; g0 += group) {
                            int g1 = Math.min(q, g0 + group);
                            for (int c = 0; c < KV_DIM; c++) {
                                float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
                                for (int t = g0; t < g1; t++) {
                                    lo = Math.min(lo, k[l][t * KV_DIM + c]);
                                    hi = Math.max(hi, k[l][t * KV_DIM + c]);
                                }
                                double bound = bound(lo, hi, levels);
                                for (int t = g0; t < g1; t++) {
                                    int i = t * KV_DIM + c;
                                    assertTrue(Math.abs(k[l][i] - d.keys()[l][i]) <= bound,
                                            spec + " key " + i + ": " + k[l][i] + " vs " + d.keys()[l][i] + " bound " + bound);
                                }
                            }
                        }
                        // values: per token
                        for (int t = 0; t < q; t++) {
                            float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
                            for (int c = 0; c < KV_DIM; c++) {
                                lo = Math.min(lo, v[l][t * KV_DIM + c]);
                                hi = Math.max(hi, v[l][t * KV_DIM + c]);
                            }
                            double bound = bound(lo, hi, levels);
                            for (int c = 0; c < KV_DIM; c++) {
                                int i = t * KV_DIM + c;
                                assertTrue(Math.abs(v[l][i] - d.values()[l][i]) <= bound, spec + " value " + i);
                            }
                        }
                        // the residual window is fp32, bit-exact
                        for (int i = q * KV_DIM; i < n * KV_DIM; i++) {
                            assertEquals(Float.floatToRawIntBits(k[l][i]), Float.floatToRawIntBits(d.keys()[l][i]));
                            assertEquals(Float.floatToRawIntBits(v[l][i]), Float.floatToRawIntBits(d.values()[l][i]));
                        }
                    }
                }
            }
        }
    }

    /** The documented bound: s/2 with s the fp16 step (range widened by the fp16 minimum rounded down), plus float rounding. */
    private static double bound(float lo, float hi, int levels) {
        double widened = (hi - lo) + Math.abs(lo) * Math.pow(2, -10) + 6e-8;
        return 0.5 * widened / levels * (1 + Math.pow(2, -9)) + Math.ulp(Math.max(Math.abs(lo), Math.abs(hi))) * 2;
    }

    @Test
    void constantGroupsAndTinyValuesDecodeExactlyEnough() throws FrameException {
        float[][] k = {new float[3 * 4]}, v = {new float[3 * 4]};
        java.util.Arrays.fill(k[0], 1.5f); // constant channel: scale 0, decoded = the fp16 minimum = 1.5
        v[0][5] = 1e-7f;
        KvDelta d = KvDeltaCodec.decode(KvDeltaCodec.encode(KvSpec.kivi(2, 0, 32), 0, 0, 0, 0, 3, 4, k, v), KvLimits.of(0, 1, 3, 4));
        assertArrayEquals(k[0], d.keys()[0]);
        for (int i = 0; i < 12; i++) {
            assertTrue(Math.abs(v[0][i] - d.values()[0][i]) < 1e-7);
        }
    }

    @Test
    void bitsPerElementIncludeHeaderAndScales() {
        // 6 layers x 48 positions x 288: 4 bits with 32-position key groups
        KvSpec s = KvSpec.kivi(4, 0, 32);
        long keys = 2 * 4L * 288 + (32L * 288 * 4 + 7) / 8 + (16L * 288 * 4 + 7) / 8;
        long values = 48L * (4 + 144);
        assertEquals(52 + 6 * (keys + values), KvDeltaCodec.frameBytes(s, 6, 48, 288));
        assertEquals(8.0 * (52 + 6 * (keys + values)) / (2.0 * 6 * 48 * 288), KvDeltaCodec.bitsPerElement(s, 6, 48, 288), 1e-12);
        assertEquals(32.0 + 8.0 * 52 / (2 * 48 * 288), KvDeltaCodec.bitsPerElement(KvSpec.FP32, 1, 48, 288), 1e-12);
        // the table of docs/WIRE.md §9: layers [1, 3), 40 positions, kvDim 288
        assertEquals(184372, KvDeltaCodec.frameBytes(KvSpec.FP32, 2, 40, 288));
        assertEquals(51060, KvDeltaCodec.frameBytes(KvSpec.DEFAULT, 2, 40, 288));
        assertEquals(76340, KvDeltaCodec.frameBytes(KvSpec.parse("kivi:bits=8,window=8"), 2, 40, 288));
        assertEquals(28020, KvDeltaCodec.frameBytes(KvSpec.parse("kivi:bits=4"), 2, 40, 288));
        assertEquals(16500, KvDeltaCodec.frameBytes(KvSpec.parse("kivi:bits=2"), 2, 40, 288));
    }

    @Test
    void specStringsRoundTrip() {
        for (String s : new String[] {"fp32", "kivi:bits=2", "kivi:bits=4,window=16", "kivi:bits=8,window=3,group=64"}) {
            assertEquals(s, KvSpec.parse(s).toString());
        }
        for (String s : new String[] {"", "fp16", "kivi:", "kivi:bits=3", "kivi:bits=4,bits=4", "kivi:bits=4,window=-1",
                "kivi:bits=4,group=0", "kivi:bits=4,window=70000", "kivi:bits=x", "kivi:window=4"}) {
            assertThrows(IllegalArgumentException.class, () -> KvSpec.parse(s), s);
        }
    }

    @Test
    void encoderRejectsBadInput() {
        float[][] k = {new float[8]}, v = {new float[8]};
        assertThrows(IllegalArgumentException.class, () -> KvDeltaCodec.encode(KvSpec.FP32, 0, -1, 0, 0, 2, 4, k, v));
        assertThrows(IllegalArgumentException.class, () -> KvDeltaCodec.encode(KvSpec.FP32, 0, 0, 0, 0, 3, 4, k, v));
        assertThrows(IllegalArgumentException.class, () -> KvDeltaCodec.encode(KvSpec.FP32, 0, 0, 0, -1, 2, 4, k, v));
        k[0][3] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> KvDeltaCodec.encode(KvSpec.FP32, 0, 0, 0, 0, 2, 4, k, v));
        k[0][3] = 70000f; // finite: fine for fp32, out of fp16 range for the quantized kind
        KvDeltaCodec.encode(KvSpec.FP32, 0, 0, 0, 0, 2, 4, k, v);
        assertThrows(IllegalArgumentException.class, () -> KvDeltaCodec.encode(KvSpec.kivi(8, 0, 32), 0, 0, 0, 0, 2, 4, k, v));
    }

    /** A 1-layer, 3-position, kvDim 4 frame: the worked example of docs/WIRE.md §9. */
    static byte[] example() {
        float[][] k = {{0.5f, -1f, 2f, 0f, 0.25f, -0.5f, 3f, 0.125f, 1f, 1f, -2f, 0.75f}};
        float[][] v = {{1f, 2f, 3f, 4f, -1f, 0f, 1f, 0.5f, 9f, 8f, 7f, 6f}};
        return KvDeltaCodec.encode(KvSpec.kivi(4, 1, 32), 0x1122334455667788L, 3, 2, 10, 3, 4, k, v);
    }

    @Test
    void workedExampleMatchesTheDocumentedBytes() throws FrameException {
        byte[] f = example();
        StringBuilder hex = new StringBuilder();
        for (byte b : f) {
            hex.append(String.format("%02x", b & 0xff));
        }
        assertEquals(EXAMPLE_HEX, hex.toString());
        KvDelta d = KvDeltaCodec.decode(f, KvLimits.of(2, 3, 16, 4));
        assertEquals(9f, d.values()[0][8]); // the residual window row is exact
        assertEquals(3, d.positions());
    }

    static final String EXAMPLE_HEX = "53504b560101040088776655443322110300000000000000020003000a0000000300000004000000010020004000000045240034452800bc452c0040452000000f00f0ff0000803f0000803f000000c00000403f6732003c50fa453000bc70bf00001041000000410000e0400000c040ffa5d8f5";

    private static byte[] withCrc(byte[] f) {
        int at = f.length - 4, c = Crc32c.compute(f, 0, at);
        f[at] = (byte) c;
        f[at + 1] = (byte) (c >>> 8);
        f[at + 2] = (byte) (c >>> 16);
        f[at + 3] = (byte) (c >>> 24);
        return f;
    }

    private static KvReason reason(byte[] f, KvLimits limits) {
        KvFrameException e = assertThrows(KvFrameException.class, () -> KvDeltaCodec.decode(f, limits));
        return e.kvReason();
    }

    @Test
    void everyBadFrameHasItsReason() {
        Random r = new Random(3);
        float[][] k = rows(r, 2, 5, 8, true), v = rows(r, 2, 5, 8, false);
        byte[] good = KvDeltaCodec.encode(KvSpec.kivi(2, 1, 32), 9, 4, 1, 10, 5, 8, k, v);
        KvLimits ok = KvLimits.of(1, 3, 16, 8).withEpoch(4);
        assertEquals(KvReason.WRONG_LAYERS, reason(good, KvLimits.of(0, 3, 16, 8)));
        assertEquals(KvReason.WRONG_LAYERS, reason(good, KvLimits.of(1, 2, 16, 8)));
        assertEquals(KvReason.BEYOND_SESSION, reason(good, KvLimits.of(1, 3, 14, 8)));
        assertEquals(KvReason.WRONG_KV_DIM, reason(good, KvLimits.of(1, 3, 16, 16)));
        assertEquals(KvReason.STALE_EPOCH, reason(good, ok.withEpoch(5)));
        assertEquals(KvReason.TOO_LARGE, reason(good, new KvLimits(1, 3, 16, 8, good.length - 1, -1)));
        byte[] f = good.clone();
        f[60] ^= 1;
        assertEquals(KvReason.BAD_CHECKSUM, reason(f, ok));
        assertEquals(KvReason.TRUNCATED, reason(java.util.Arrays.copyOf(good, good.length - 1), ok));
        assertEquals(KvReason.TRUNCATED, reason(java.util.Arrays.copyOf(good, 3), ok));
        assertEquals(KvReason.TRAILING_BYTES, reason(java.util.Arrays.copyOf(good, good.length + 1), ok));
        f = good.clone();
        f[0] = 'X';
        assertEquals(KvReason.BAD_MAGIC, reason(f, ok));
        f = good.clone();
        f[4] = 2;
        assertEquals(KvReason.BAD_VERSION, reason(f, ok));
        f = good.clone();
        f[6] = 3; // 3 bits
        assertEquals(KvReason.BAD_KIND, reason(withCrc(f), ok));
        f = good.clone();
        f[5] = 0; // fp32 kind with bits, window and group set
        assertEquals(KvReason.BAD_KIND, reason(withCrc(f), ok));
        f = good.clone();
        f[7] = 1; // flags
        assertEquals(KvReason.BAD_FIELD, reason(withCrc(f), ok));
        f = good.clone();
        f[23] = (byte) 0x80; // negative epoch
        assertEquals(KvReason.BAD_FIELD, reason(withCrc(f), ok));
        f = good.clone();
        f[40] = 2; // window 2: another payload size
        assertEquals(KvReason.BAD_PAYLOAD, reason(withCrc(f), ok));
        // non-zero padding bits cannot occur at kvDim 8 with 2 bits; an infinite scale can
        f = good.clone();
        f[48] = 0;
        f[49] = 0x7c; // first key scale = +inf
        assertEquals(KvReason.BAD_PAYLOAD, reason(withCrc(f), ok));
        f = good.clone();
        int lastFp32 = f.length - 4 - 4; // last value of the residual window row
        f[lastFp32 + 3] = 0x7f;
        f[lastFp32 + 2] = (byte) 0xc0; // NaN
        assertEquals(KvReason.BAD_PAYLOAD, reason(withCrc(f), ok));
        // each maps onto the activation frame's reasons
        assertEquals(FrameException.Reason.BAD_CODEC, KvReason.BAD_KIND.base());
    }

    @Test
    void nonZeroPaddingIsRejected() {
        // kvDim 3 at 2 bits: 6 bits of codes per value row, 2 padding bits
        float[][] k = {{1, 2, 3, 4, 5, 6}}, v = {{1, 2, 3, 4, 5, 6}};
        byte[] f = KvDeltaCodec.encode(KvSpec.kivi(2, 0, 32), 0, 0, 0, 0, 2, 3, k, v);
        // key section: 3 x 4 bytes of scales + 2 bytes of codes (12 bits), then value rows of 4 + 1 bytes
        int firstValueCodes = 48 + 12 + 2 + 4;
        f[firstValueCodes] |= (byte) 0x80;
        assertEquals(KvReason.BAD_PAYLOAD, reason(withCrc(f), KvLimits.of(0, 1, 2, 3)));
    }

    @Test
    void fuzzedFramesOnlyEverFailWithKvFrameException() {
        Random r = new Random(14);
        long deadline = System.nanoTime() + 20_000_000_000L;
        KvSpec[] specs = {KvSpec.FP32, KvSpec.kivi(2, 0, 4), KvSpec.kivi(4, 3, 32), KvSpec.kivi(8, 1, 2)};
        int decoded = 0, rejected = 0;
        for (int i = 0; i < 20_000 && System.nanoTime() < deadline; i++) {
            KvSpec spec = specs[i % specs.length];
            int n = 1 + r.nextInt(9), dim = 1 + r.nextInt(12), layers = 1 + r.nextInt(2);
            byte[] f = KvDeltaCodec.encode(spec, r.nextLong(), r.nextInt(3), 0, r.nextInt(4), n, dim,
                    rows(r, layers, n, dim, true), rows(r, layers, n, dim, false));
            switch (r.nextInt(5)) {
                case 0 -> f = java.util.Arrays.copyOf(f, r.nextInt(f.length + 8));
                case 1 -> f[r.nextInt(f.length)] ^= (byte) (1 << r.nextInt(8));
                case 2 -> f[r.nextInt(Math.min(f.length, 48))] = (byte) r.nextInt(256);
                case 3 -> {
                    for (int j = 0; j < 3; j++) {
                        f[r.nextInt(f.length)] = (byte) r.nextInt(256);
                    }
                }
                default -> {
                    int a = r.nextInt(f.length), b = r.nextInt(f.length);
                    System.arraycopy(f, a, f, b, Math.min(f.length - Math.max(a, b), 1 + r.nextInt(16)));
                }
            }
            if (r.nextBoolean() && f.length >= 52) {
                withCrc(f); // make the field checks, not the checksum, reject it
            }
            try {
                KvDelta d = KvDeltaCodec.decode(f, KvLimits.of(0, layers, 16, dim));
                assertEquals(layers, d.keys().length);
                assertEquals((long) d.positions() * dim, d.keys()[0].length);
                decoded++;
            } catch (KvFrameException e) {
                rejected++;
            } catch (RuntimeException e) {
                throw new AssertionError("fuzz case " + i + " threw " + e, e);
            }
        }
        assertTrue(rejected > 1000, "rejected " + rejected + ", decoded " + decoded);
    }
}
