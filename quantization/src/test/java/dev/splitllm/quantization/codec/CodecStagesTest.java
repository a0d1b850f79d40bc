package dev.splitllm.quantization.codec;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stages of issue 19: group-wise scales, calibrated mean, rANS with static tables, zstd on prefill only. */
class CodecStagesTest {
    static final int D = 96;

    /** Rows with a per-channel offset (what mean removal is for) on top of the codec test data. */
    static float[] offsetRows(Random random, int tokens, int dim) {
        float[] x = CodecTestData.activations(random, tokens, dim);
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < dim; c++) {
                x[t * dim + c] += (c % 7 == 0) ? 6f : (c % 5) * 0.3f;
            }
        }
        return x;
    }

    static CodecTables tablesFor(CodecSpec template, int dim, long seed) {
        Random r = new Random(seed);
        return CodecTables.calibrate(template, 3, offsetRows(r, 200, dim), 200, dim);
    }

    private static double relError(float[] x, float[] y, int from, int n) {
        double e = 0, s = 0;
        for (int i = from; i < from + n; i++) {
            e += (x[i] - y[i]) * (double) (x[i] - y[i]);
            s += x[i] * (double) x[i];
        }
        return s == 0 ? 0 : e / s;
    }

    @Test
    void groupScalesKeepEveryValueWithinHalfAStep() throws Exception {
        Random random = new Random(11);
        ActivationCodec codec = new ActivationCodec();
        for (String s : new String[] {"tabq:eps=0.001,bits=2/3/4/5/6/7/8,group=32", "tabq:eps=0.01,bits=2/4/8,group=16,tau=3",
            "tabq:eps=0.0003,group=64,rot", "tabq:eps=0.001,group=128,tau=2,channels=session"}) {
            CodecSpec spec = CodecSpec.parse(s);
            int dim = 200 + random.nextInt(100); // last group shorter
            int tokens = 5;
            float[] x = CodecTestData.activations(random, tokens, dim);
            OutlierChannels ch = spec.sessionChannels() ? OutlierChannels.select(x, tokens, dim, spec.tau()) : null;
            byte[] p = codec.encode(spec, x, tokens, dim, ch);
            int[] hist = codec.lastBitHistogram();
            float[] y = codec.decode(spec, p, tokens, dim, ch);
            for (int t = 0; t < tokens; t++) {
                double rel = relError(x, y, t * dim, dim);
                boolean largest = hist[spec.maxBits()] > 0;
                assertTrue(rel <= spec.epsilon() * 1.001 || largest, s + ": token " + t + " relative error " + rel);
            }
            // deterministic: the same input gives the same bytes
            assertArrayEquals(p, codec.encode(spec, x, tokens, dim, ch));
        }
    }

    @Test
    void groupScalesBeatOneRangePerTokenOnUnevenRows() throws Exception {
        // one loud group per row: a per-token range wastes the grid on the quiet groups
        Random random = new Random(12);
        int dim = 256, tokens = 16;
        float[] x = new float[tokens * dim];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian() * ((i % dim) < 32 ? 20f : 1f);
        }
        ActivationCodec codec = new ActivationCodec();
        int plain = codec.encode(CodecSpec.parse("tabq:eps=0.001,bits=2/3/4/5/6/7/8"), x, tokens, dim).length;
        int grouped = codec.encode(CodecSpec.parse("tabq:eps=0.001,bits=2/3/4/5/6/7/8,group=32"), x, tokens, dim).length;
        assertTrue(grouped < plain, "grouped " + grouped + " vs plain " + plain);
    }

    @Test
    void ansIsLosslessOverTheCodes() throws Exception {
        // rANS only re-codes the codes: with and without it the decoded rows are bit-identical.
        Random random = new Random(13);
        ActivationCodec codec = new ActivationCodec();
        for (String s : new String[] {"tabq:eps=0.001,bits=2/3/4/5/6/7/8,tau=4,rot", "tabq:eps=0.0003,group=32,mean",
            "tabq:eps=0.01,bits=1/2/3,tau=2", "tabq:eps=0.001,tau=3,group=32,mean,rot,channels=session"}) {
            CodecSpec template = CodecSpec.parse(s).withAns();
            CodecTables tables = tablesFor(template, D, 5);
            CodecSpec withAns = template.withTables(tables.hash());
            CodecSpec without = CodecSpec.parse(s);
            if (without.mean()) {
                without = without.withTables(CodecTables.calibrate(without, 3, offsetRows(new Random(5), 200, D), 200, D).hash());
            }
            for (int tokens : new int[] {1, 7}) {
                float[] x = offsetRows(random, tokens, D);
                OutlierChannels ch = template.sessionChannels() ? OutlierChannels.select(x, tokens, D, template.tau()) : null;
                byte[] a = codec.encode(withAns, x, tokens, D, ch, tables);
                float[] ya = codec.decode(withAns, a, tokens, D, ch, tables);
                byte[] b = codec.encode(without, x, tokens, D, ch, tables);
                float[] yb = codec.decode(without, b, tokens, D, ch, tables);
                assertArrayEquals(yb, ya, s);
                long max = tokens * ActivationCodec.maxTokenBytes(withAns, D, ch == null ? 0 : ch.size());
                long min = tokens * ActivationCodec.minTokenBytes(withAns, D, ch == null ? 0 : ch.size());
                assertTrue(a.length <= max && a.length >= min, s);
            }
        }
    }

    @Test
    void ansShrinksCalibratedCodes() {
        CodecSpec template = CodecSpec.parse("tabq:eps=0.0003,bits=2/3/4/5/6/7/8,tau=5,rot,ans");
        CodecTables tables = tablesFor(template, 288, 6);
        CodecSpec spec = template.withTables(tables.hash());
        float[] x = offsetRows(new Random(7), 64, 288);
        ActivationCodec codec = new ActivationCodec();
        int coded = 0, plain = 0;
        for (int t = 0; t < 64; t++) {
            float[] row = java.util.Arrays.copyOfRange(x, t * 288, (t + 1) * 288);
            coded += codec.encode(spec, row, 1, 288, null, tables).length;
            plain += codec.encode(CodecSpec.parse("tabq:eps=0.0003,bits=2/3/4/5/6/7/8,tau=5,rot"), row, 1, 288).length;
        }
        assertTrue(coded < plain * 0.97, "rANS " + coded + " bytes vs packed " + plain);
    }

    @Test
    void meanRemovalRoundTripsAndHelpsOffsetRows() throws Exception {
        Random random = new Random(14);
        CodecSpec template = CodecSpec.parse("tabq:eps=0.001,bits=2/3/4/5/6/7/8,mean");
        CodecTables tables = tablesFor(template, D, 8);
        assertTrue(tables.hasMean());
        assertNull(tables.table(4));
        CodecSpec spec = template.withTables(tables.hash());
        ActivationCodec codec = new ActivationCodec();
        float[] x = offsetRows(random, 32, D);
        byte[] p = codec.encode(spec, x, 32, D, null, tables);
        float[] y = codec.decode(spec, p, 32, D, null, tables);
        assertTrue(relError(x, y, 0, x.length) < 0.001, "relative error " + relError(x, y, 0, x.length));
        int without = codec.encode(CodecSpec.parse("tabq:eps=0.001,bits=2/3/4/5/6/7/8"), x, 32, D).length;
        assertTrue(p.length < without, "mean " + p.length + " vs " + without);
        // other tables (or none) are refused
        CodecTables other = tablesFor(template, D, 9);
        assertThrows(IllegalArgumentException.class, () -> codec.encode(spec, x, 32, D, null, null));
        assertThrows(IllegalArgumentException.class, () -> new dev.splitllm.quantization.wire.SessionCodec(spec, other));
    }

    @Test
    void zstdOnPrefillFramesOnly() throws Exception {
        CodecSpec spec = CodecSpec.parse("tabq:eps=0.001,tau=3,zstd=prefill");
        CodecSpec plain = CodecSpec.parse("tabq:eps=0.001,tau=3");
        ActivationCodec codec = new ActivationCodec();
        float[] x = CodecTestData.activations(new Random(15), 16, D);
        assertArrayEquals(codec.encode(plain, x, 1, D), codec.encode(spec, x, 1, D));
        byte[] multi = codec.encode(spec, x, 16, D);
        assertFalse(java.util.Arrays.equals(codec.encode(plain, x, 16, D), multi));
        assertArrayEquals(codec.decode(plain, codec.encode(plain, x, 16, D), 16, D, null), codec.decode(spec, multi, 16, D, null));
    }

    @Test
    void specStringsRoundTripAndRejectNonsense() {
        for (String s : new String[] {"tabq:eps=0.001,bits=2/3/4/5/6/7/8,tau=1.5,group=32,mean,rot,ans,tables=00112233445566ff,zstd=prefill",
            "tabq:eps=3.0E-4,bits=2/4/8,group=64", "tabq:eps=0.001,bits=2/3/4/6/8,mean,rot", "tabq:eps=0.001,bits=2/3/4/6/8,ans,zstd"}) {
            CodecSpec spec = CodecSpec.parse(s);
            assertEquals(spec, CodecSpec.parse(spec.toString()));
            assertEquals(s, spec.toString());
        }
        for (String bad : new String[] {"tabq:group=32,bits=1/2", "tabq:group=48", "tabq:group=256", "q8_0:group=32", "fp16:ans",
            "tabq:tables=0011223344556677", "tabq:ans,tables=12", "tabq:ans,tables=0000000000000000", "tabq:zstd=decode",
            "tabq:mean=1", "uniform:bits=4,mean"}) {
            assertThrows(IllegalArgumentException.class, () -> CodecSpec.parse(bad), bad);
        }
    }

    @Test
    void tablesFileRoundTripsAndRejectsCorruption(@TempDir Path dir) throws Exception {
        CodecTables t = tablesFor(CodecSpec.parse("tabq:eps=0.001,bits=2/3/4/5/6/7/8,group=32,mean,rot,ans"), D, 10);
        CodecTables back = CodecTables.parse(t.toBytes());
        assertEquals(t.hash(), back.hash());
        assertArrayEquals(t.table(6).frequencies(), back.table(6).frequencies());
        Path file = t.save(dir);
        assertEquals(t.hash(), CodecTables.load(file).hash());
        assertTrue(Files.size(file) < 12_000);
        CodecTables.register(t);
        assertSame(t, CodecTables.find(t.hash()));
        assertThrows(IllegalArgumentException.class, () -> CodecTables.find(0x123456789L));
        Random random = new Random(16);
        byte[] good = t.toBytes();
        for (int i = 0; i < 5000; i++) {
            byte[] b = good.clone();
            if (random.nextBoolean()) {
                b = java.util.Arrays.copyOf(b, random.nextInt(b.length + 8));
            } else {
                b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
            }
            try {
                CodecTables p = CodecTables.parse(b);
                if (!java.util.Arrays.equals(b, good)) {
                    assertNotEquals(t.hash(), p.hash());
                }
            } catch (CorruptPayloadException expected) {
                // the only way out besides a valid table
            }
        }
    }

    @Test
    void fastHadamardIsTheStageByStageTransform() {
        // The radix-4 passes must give exactly the butterflies of the plain stage-by-stage FWHT.
        Random random = new Random(17);
        for (int dim : new int[] {288, 2048, 96, 40, 7, 2, 64, 512}) {
            HadamardRotation rot = new HadamardRotation(dim, 12345);
            float[] x = new float[dim];
            for (int i = 0; i < dim; i++) {
                x[i] = (float) random.nextGaussian();
            }
            float[] fast = x.clone();
            rot.forward(fast, 0);
            float[] ref = x.clone();
            float[] signs = new float[dim];
            // the signs as the class comment defines them
            float norm = (float) (1.0 / Math.sqrt(rot.block()));
            long bitsLeft = 0;
            for (int c = 0; c < dim; c++) {
                if ((c & 63) == 0) {
                    bitsLeft = HadamardRotation.splitMix64(12345 + ((long) (c >>> 6) + 1) * 0x9E3779B97F4A7C15L);
                }
                signs[c] = ((bitsLeft >>> (c & 63)) & 1) != 0 ? -norm : norm;
                ref[c] *= signs[c];
            }
            int b = rot.block();
            for (int base = 0; base < dim; base += b) {
                for (int h = 1; h < b; h <<= 1) {
                    for (int i = base; i < base + b; i += h << 1) {
                        for (int j = i; j < i + h; j++) {
                            float p = ref[j], q = ref[j + h];
                            ref[j] = p + q;
                            ref[j + h] = p - q;
                        }
                    }
                }
            }
            assertArrayEquals(ref, fast, "d = " + dim);
            rot.inverse(fast, 0);
            for (int i = 0; i < dim; i++) {
                assertEquals(x[i], fast[i], 1e-5f * (1 + Math.abs(x[i])), "d = " + dim);
            }
        }
    }

    @Test
    void stepQuantizerMeetsTheBudgetWithOneByteOfSideInformation() throws Exception {
        Random random = new Random(18);
        for (String s : new String[] {"tabq:eps=0.0002,tau=4,rot,step,ans", "tabq:eps=0.001,mean,step,ans",
            "tabq:eps=0.00005,tau=3,mean,rot,step,ans,channels=session,zstd=prefill"}) {
            CodecSpec template = CodecSpec.parse(s);
            CodecTables tables = tablesFor(template, D, 19);
            CodecSpec spec = template.withTables(tables.hash());
            assertEquals(spec, CodecSpec.parse(spec.toString()));
            ActivationCodec codec = new ActivationCodec();
            for (int tokens : new int[] {1, 6}) {
                float[] x = offsetRows(random, tokens, D);
                OutlierChannels ch = spec.sessionChannels() ? OutlierChannels.select(x, tokens, D, spec.tau()) : null;
                byte[] p = codec.encode(spec, x, tokens, D, ch, tables);
                float[] y = codec.decode(spec, p, tokens, D, ch, tables);
                for (int t = 0; t < tokens; t++) {
                    assertTrue(relError(x, y, t * D, D) <= spec.epsilon() * 1.0001, s + " token " + t + ": " + relError(x, y, t * D, D));
                }
                // corrupt the rANS stream of the first token: a CorruptPayloadException or finite values, nothing else
                for (int i = 0; i < 200; i++) {
                    byte[] bad = p.clone();
                    bad[random.nextInt(bad.length)] ^= (byte) (1 << random.nextInt(8));
                    try {
                        for (float v : codec.decode(spec, bad, tokens, D, ch, tables)) {
                            assertTrue(Float.isFinite(v));
                        }
                    } catch (CorruptPayloadException expected) {
                        // fine
                    }
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> CodecSpec.parse("tabq:step"));
        assertThrows(IllegalArgumentException.class, () -> CodecSpec.parse("tabq:bits=2/8,step,ans"));
        assertThrows(IllegalArgumentException.class, () -> CodecSpec.parse("tabq:group=32,step,ans"));
    }
}
