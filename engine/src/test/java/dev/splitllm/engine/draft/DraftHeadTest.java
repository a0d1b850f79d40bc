package dev.splitllm.engine.draft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tensor.MatrixConverter;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.weights.WeightFormat;
import dev.splitllm.quantization.wire.Crc32c;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The .xhead file format: exact round trip, and a clear refusal of every kind of bad file. */
class DraftHeadTest {
    @TempDir
    Path tmp;

    /** A head with awkward bit patterns: -0, subnormals, extremes. */
    static DraftHead sample(int d, long seed) {
        Random rnd = new Random(seed);
        float[] w = new float[d * d];
        float[] b = new float[d];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < d; i++) b[i] = (float) rnd.nextGaussian();
        w[0] = -0f;
        w[1] = Float.MIN_VALUE;
        w[2] = -Float.MAX_VALUE;
        b[d - 1] = Float.MIN_NORMAL / 3;
        return new DraftHead(3, d, 6, 32000, 0x0123456789abcdefL, w, b);
    }

    @Test
    void roundTripIsBitExact() throws IOException {
        DraftHead h = sample(64, 1);
        Path f = tmp.resolve("sub/dir/h.xhead");
        h.write(f);
        assertEquals(30 + 4L * (64 * 64 + 64) + 4, Files.size(f));
        DraftHead r = DraftHead.read(f);
        assertEquals(h.splitLayer(), r.splitLayer());
        assertEquals(h.dim(), r.dim());
        assertEquals(h.nLayers(), r.nLayers());
        assertEquals(h.vocabSize(), r.vocabSize());
        assertEquals(h.fingerprint(), r.fingerprint());
        assertArrayEquals(bits(h.weights()), bits(r.weights()));
        assertArrayEquals(bits(h.bias()), bits(r.bias()));
        assertEquals(4L * (64 * 64 + 64), r.bytes());
        // Writing what was read gives the same bytes.
        Path g = tmp.resolve("again.xhead");
        r.write(g);
        assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(g));
    }

    private static int[] bits(float[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Float.floatToRawIntBits(v[i]);
        return out;
    }

    private byte[] good() throws IOException {
        Path f = tmp.resolve("good.xhead");
        sample(32, 2).write(f);
        return Files.readAllBytes(f);
    }

    /** Writes bytes, reads them back, and returns the error message (which must name the file). */
    private String refusal(byte[] bytes) throws IOException {
        Path f = tmp.resolve("bad.xhead");
        Files.write(f, bytes);
        IOException e = assertThrows(IOException.class, () -> DraftHead.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        return e.getMessage();
    }

    /** Re-seals a modified file with a correct CRC, so the check under test is the one that fires. */
    private static byte[] resealed(byte[] b) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length - 4, Crc32c.compute(b, 0, b.length - 4));
        return b;
    }

    private static byte[] withInt(byte[] b, int offset, int value) {
        byte[] c = b.clone();
        ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return c;
    }

    @Test
    void wrongMagic() throws IOException {
        byte[] b = good();
        b[0] = 'G';
        assertTrue(refusal(resealed(b)).contains("wrong magic"));
        assertTrue(refusal(new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0}).contains("wrong magic"));
    }

    @Test
    void unknownVersion() throws IOException {
        byte[] b = good();
        b[4] = 2;
        assertTrue(refusal(resealed(b)).contains("unknown format version 2"));
    }

    @Test
    void truncated() throws IOException {
        byte[] b = good();
        assertTrue(refusal(new byte[0]).contains("truncated"));
        assertTrue(refusal(Arrays.copyOf(b, 20)).contains("truncated"));
        assertTrue(refusal(Arrays.copyOf(b, 30)).contains("truncated"));
        assertTrue(refusal(Arrays.copyOf(b, b.length - 1)).contains("truncated"));
    }

    @Test
    void trailingBytes() throws IOException {
        byte[] b = good();
        assertTrue(refusal(Arrays.copyOf(b, b.length + 3)).contains("3 trailing bytes"));
    }

    @Test
    void crcMismatch() throws IOException {
        byte[] b = good();
        b[100] ^= 1; // one bit of a weight
        assertTrue(refusal(b).contains("CRC32C mismatch"));
        byte[] c = good();
        c[c.length - 1] ^= 0x40; // the checksum itself
        assertTrue(refusal(c).contains("CRC32C mismatch"));
    }

    @Test
    void absurdSizesAreRefusedBeforeAllocating() throws IOException {
        byte[] b = good();
        // d = 2^30 would need 4 EiB for W: refused from the header alone.
        assertTrue(refusal(resealed(withInt(b, 10, 1 << 30))).contains("absurd header"));
        assertTrue(refusal(resealed(withInt(b, 10, 0))).contains("width d"));
        assertTrue(refusal(resealed(withInt(b, 10, -288))).contains("width d"));
        assertTrue(refusal(resealed(withInt(b, 14, 0))).contains("layer count"));
        assertTrue(refusal(resealed(withInt(b, 6, 7))).contains("split layer must be in [0, 6]"));
        assertTrue(refusal(resealed(withInt(b, 6, -1))).contains("split layer"));
        assertTrue(refusal(resealed(withInt(b, 18, 0))).contains("vocabulary size"));
        // A plausible d that disagrees with the file's length is a truncation, not an allocation.
        assertTrue(refusal(resealed(withInt(b, 10, 16384))).contains("truncated"));
        assertTrue(refusal(resealed(withInt(b, 10, 31))).contains("trailing bytes"));
    }

    @Test
    void nonFiniteWeightsAreRefused() throws IOException {
        byte[] b = good();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putFloat(30 + 4 * 5, Float.NaN);
        assertTrue(refusal(resealed(b)).contains("not finite"));
    }

    @Test
    void constructorChecksShapes() {
        assertThrows(IllegalArgumentException.class, () -> new DraftHead(3, 4, 6, 10, 0, new float[15], new float[4]));
        assertThrows(IllegalArgumentException.class, () -> new DraftHead(3, 4, 6, 10, 0, new float[16], new float[3]));
        assertThrows(IllegalArgumentException.class, () -> new DraftHead(3, DraftHead.MAX_DIM + 1, 6, 10, 0, new float[0], new float[0]));
    }

    @Test
    void fingerprintIdentifiesTheModelAndSurvivesQ8() {
        ModelWeights m = TestModel.full();
        LlamaConfig c = m.config();
        long f32 = DraftHead.fingerprint(c, m.rmsFinal(), m.classifier());
        WeightMatrix q8 = MatrixConverter.convert(m.classifier(), WeightFormat.Q8_0, "classifier");
        assertEquals(f32, DraftHead.fingerprint(c, m.rmsFinal(), q8), "Q8_0 re-encodes its own output exactly");
        float[] norm = m.rmsFinal().clone();
        norm[7] = Math.nextUp(norm[7]);
        assertNotEquals(f32, DraftHead.fingerprint(c, norm, m.classifier()), "one final-norm weight, one ulp");
        LlamaConfig otherEps = new LlamaConfig(c.dim(), c.hiddenDim(), c.nLayers(), c.nHeads(), c.nKvHeads(), c.vocabSize(), c.seqLen(),
                c.ropeTheta(), 1e-6f, c.sharedClassifier());
        assertNotEquals(f32, DraftHead.fingerprint(otherEps, m.rmsFinal(), m.classifier()));
        float[] cls = MatrixConverter.dequantize(m.classifier());
        cls[31999 * 288 + 5] += 0.5f; // a sampled row (the last one)
        assertNotEquals(f32, DraftHead.fingerprint(c, m.rmsFinal(), new dev.splitllm.engine.tensor.F32Matrix(cls, 32000, 288)));
    }
}
