package dev.splitllm.quantization.wire;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.OutlierChannels;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * DRAFT frames (docs/WIRE.md, "Draft frames"): each row decodes to exactly what a DECODE frame of
 * that row gives, the draft block comes back as sent, and every malformed draft block is a
 * {@link FrameException} naming the problem.
 */
class DraftFrameTest {
    static final int D = 64;
    static final FrameLimits LIMITS = new FrameLimits(64, D, 1 << 20);
    final FrameCodec codec = new FrameCodec();

    @Test
    void rowsDecodeExactlyAsDecodeFramesWouldForEveryCodec() throws FrameException {
        Random r = new Random(5);
        for (String s : new String[] {"fp32", "fp16", "q8_0", "tabq:eps=1e-3", "tabq:eps=1e-3,rot,zstd", "uniform:bits=4"}) {
            CodecSpec spec = CodecSpec.parse(s);
            float[] x = FrameCodecTest.gaussian(r, 4 * D);
            Draft draft = Draft.greedy(new int[] {5, 17, 31999});
            byte[] bytes = codec.encode(new FrameHeader(3, 7, Phase.DRAFT, 2, 10, 4, D, spec), x, null, false, null, draft);
            Frame f = codec.decode(bytes, LIMITS);
            assertEquals(Phase.DRAFT, f.header().phase());
            assertArrayEquals(new int[] {5, 17, 31999}, f.draft().tokens());
            assertFalse(f.draft().sampled());
            for (int t = 0; t < 4; t++) {
                float[] row = Arrays.copyOfRange(x, t * D, (t + 1) * D);
                Frame one = codec.decode(codec.encode(new FrameHeader(3, 7, Phase.DECODE, 2, 10 + t, 1, D, spec), row), LIMITS);
                assertArrayEquals(one.hidden(), Arrays.copyOfRange(f.hidden(), t * D, (t + 1) * D), 0f, s + " row " + t);
            }
        }
    }

    @Test
    void sessionChannelsAndProposalsRoundTrip() throws FrameException {
        CodecSpec spec = CodecSpec.parse("tabq:eps=0.001,tau=1.8,channels=session");
        float[] x = FrameCodecTest.gaussian(new Random(2), 3 * D);
        OutlierChannels ch = OutlierChannels.select(x, 3, D, 1.8f);
        Draft draft = Draft.sampled(new int[] {4, 9}, new int[][] {{4, 1, 2}, {9}}, new float[][] {{0.5f, 0.25f, 0.125f}, {1f}});
        byte[] bytes = codec.encode(new FrameHeader(3, 2, Phase.DRAFT, 2, 5, 3, D, spec), x, ch, false, null, draft);
        Frame f = codec.decode(bytes, LIMITS, ch);
        assertTrue(f.draft().sampled());
        assertEquals(3, f.draft().proposalSize(0));
        assertEquals(0.25f, f.draft().proposalProb(0, 1));
        assertEquals(9, f.draft().proposalToken(1, 0));
        assertThrows(FrameException.class, () -> codec.decode(bytes, LIMITS, null), "session channels are needed");
    }

    @Test
    void theEncoderRefusesInconsistentDrafts() {
        CodecSpec spec = CodecSpec.parse("fp16");
        float[] x = new float[3 * D];
        assertThrows(IllegalArgumentException.class,
                () -> codec.encode(new FrameHeader(1, 1, Phase.DRAFT, 2, 0, 3, D, spec), x, null, false, null, Draft.greedy(new int[] {1})));
        assertThrows(IllegalArgumentException.class, () -> codec.encode(new FrameHeader(1, 1, Phase.DRAFT, 2, 0, 3, D, spec), x));
        assertThrows(IllegalArgumentException.class,
                () -> codec.encode(new FrameHeader(1, 1, Phase.DECODE, 2, 0, 1, D, spec), x, null, false, null, Draft.greedy(new int[] {1})));
        assertThrows(IllegalArgumentException.class, () -> Draft.greedy(new int[0]));
        assertThrows(IllegalArgumentException.class, () -> Draft.greedy(new int[Draft.MAX_TOKENS + 1]));
        assertThrows(IllegalArgumentException.class, () -> Draft.sampled(new int[] {1}, new int[][] {{2}}, new float[][] {{1f}}));
        assertThrows(IllegalArgumentException.class, () -> Draft.sampled(new int[] {1}, new int[][] {{1, 1}}, new float[][] {{.5f, .5f}}));
        assertThrows(IllegalArgumentException.class, () -> Draft.sampled(new int[] {1}, new int[][] {{1, 2}}, new float[][] {{.7f, .7f}}));
    }

    @Test
    void malformedDraftBlocksAreFrameExceptions() {
        CodecSpec spec = CodecSpec.parse("fp16");
        float[] x = FrameCodecTest.gaussian(new Random(9), 3 * D);
        Draft draft = Draft.sampled(new int[] {4, 9}, new int[][] {{4, 1}, {9, 3}}, new float[][] {{0.5f, 0.5f}, {0.75f, 0.25f}});
        byte[] good = codec.encode(new FrameHeader(3, 2, Phase.DRAFT, 2, 5, 3, D, spec), x, null, false, null, draft);
        int at = FrameCodec.CHANNELS_OFFSET + 4; // the payload: the draft block first
        // k that does not match the rows
        assertRefused(withCrc(good, at, (byte) 3), "must carry 2 drafted tokens");
        // unknown draft flags
        assertRefused(withCrc(good, at + 1, (byte) 0x81), "unknown draft flags");
        // a negative drafted id
        assertRefused(withCrc(good, at + 4 + 3, (byte) 0x80), "negative");
        // proposal 0: size 0, then 9 entries
        int p0 = at + 4 + 8;
        assertRefused(withCrc(good, p0, (byte) 0), "entries");
        assertRefused(withCrc(good, p0, (byte) 9), "entries");
        // proposal 0's first probability: 1.5, NaN, 0, -0.5
        for (float bad : new float[] {1.5f, Float.NaN, 0f, -0.5f}) {
            byte[] b = good.clone();
            int bits = Float.floatToRawIntBits(bad);
            for (int i = 0; i < 4; i++) b[p0 + 1 + 4 + i] = (byte) (bits >>> (8 * i));
            assertRefused(recrc(b), "outside (0, 1]");
        }
        // proposal 0 not starting with the drafted id
        assertRefused(withCrc(good, p0 + 1, (byte) 5), "does not start with the drafted token");
        // a DRAFT frame of one row
        byte[] one = codec.encode(new FrameHeader(3, 2, Phase.DECODE, 2, 5, 1, D, spec), x);
        assertRefused(withCrc(one, 6, (byte) Phase.DRAFT.code), "rows");
    }

    private void assertRefused(byte[] bytes, String why) {
        FrameException e = assertThrows(FrameException.class, () -> codec.decode(bytes, LIMITS));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    private static byte[] withCrc(byte[] frame, int at, byte value) {
        byte[] b = frame.clone();
        b[at] = value;
        return recrc(b);
    }

    private static byte[] recrc(byte[] b) {
        int crc = Crc32c.compute(b, 0, b.length - 4);
        for (int i = 0; i < 4; i++) b[b.length - 4 + i] = (byte) (crc >>> (8 * i));
        return b;
    }
}
