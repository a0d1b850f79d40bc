package dev.splitllm.quantization.wire;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.quantization.codec.ActivationCodec;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.OutlierChannels;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class FrameCodecTest {
    private static final FrameLimits LIMITS = new FrameLimits(64, 4096, 1 << 20);
    private final FrameCodec frames = new FrameCodec();

    static float[] gaussian(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }

    static FrameHeader header(CodecSpec spec, Phase phase, int tokens, int dim) {
        return new FrameHeader(0x0123456789abcdefL, 42, phase, 3, 17, tokens, dim, spec);
    }

    /** Writes a fresh CRC32C over everything before the last four bytes. */
    static void fixCrc(byte[] frame) {
        CRC32C crc = new CRC32C();
        crc.update(frame, 0, frame.length - 4);
        int v = (int) crc.getValue();
        for (int i = 0; i < 4; i++) {
            frame[frame.length - 4 + i] = (byte) (v >>> (8 * i));
        }
    }

    @Test
    void everyCodecRoundTripsWithItsHeader() throws Exception {
        Random random = new Random(1);
        ActivationCodec reference = new ActivationCodec();
        for (String s : new String[] {"fp32", "fp16", "q8_0", "uniform:bits=4", "tabq:eps=0.001,tau=2.5,rot,zstd",
            "tabq:eps=0.01,bits=2/4/8", "q8_0:rot=9,zstd"}) {
            CodecSpec spec = CodecSpec.parse(s);
            float[] x = gaussian(random, 5 * 96);
            FrameHeader h = header(spec, Phase.PREFILL, 5, 96);
            byte[] bytes = frames.encode(h, x);
            Frame frame = frames.decode(bytes, LIMITS);
            assertEquals(h, frame.header(), s);
            assertArrayEquals(reference.decode(spec, reference.encode(spec, x, 5, 96), 5, 96, null), frame.hidden(), 0f, s);
            assertNull(frame.channels());
            assertFalse(frame.channelsInFrame());
            assertEquals(bytes.length, FrameCodec.overheadBytes(-1) + reference.encode(spec, x, 5, 96).length);
        }
    }

    @Test
    void headerLayoutIsAsDocumented() throws Exception {
        CodecSpec spec = CodecSpec.parse("tabq:eps=0.001,bits=2/3/4/6/8,tau=3.5,rot=7,zstd");
        byte[] b = frames.encode(new FrameHeader(0x1122334455667788L, 0x0102030405L, Phase.DECODE, 0x0a0b, 0x0c0d0e0f, 1, 288, spec),
                gaussian(new Random(2), 288));
        assertEquals("SPLT", new String(b, 0, 4, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(1, b[4]);           // version
        assertEquals(0, b[5]);           // flags
        assertEquals(1, b[6]);           // phase DECODE
        assertEquals(0, b[7]);           // reserved
        assertEquals(0x88, b[8] & 0xff); // session id, little-endian
        assertEquals(0x11, b[15] & 0xff);
        assertEquals(0x05, b[16]);       // step
        assertEquals(0x0b, b[24]);       // split layer
        assertEquals(0x0a, b[25]);
        assertEquals(20, b[26]);         // codec parameter length
        assertEquals(0x0f, b[28]);       // start position
        assertEquals(1, b[32]);          // T
        assertEquals(288 & 0xff, b[36] & 0xff);
        assertEquals(1, b[37]);
        assertEquals(4, b[40]);          // kind tabq
        assertEquals(0b011, b[41]);      // zstd + rotation
        assertEquals(0, b[42]);          // uniform bits
        assertEquals(0b10101110, b[43] & 0xff);
        assertEquals(1e-3f, Float.intBitsToFloat(intAt(b, 44)));
        assertEquals(3.5f, Float.intBitsToFloat(intAt(b, 48)));
        assertEquals(7, b[52]);          // rotation seed
        int payloadLength = intAt(b, 60);
        assertEquals(b.length, 64 + payloadLength + 4);
        CRC32C crc = new CRC32C();
        crc.update(b, 0, b.length - 4);
        assertEquals((int) crc.getValue(), intAt(b, b.length - 4));
    }

    private static int intAt(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24;
    }

    @Test
    void workedExampleSizes() {
        // docs/WIRE.md: one decode token, d = 288.
        float[] x = gaussian(new Random(3), 288);
        assertEquals(68 + 576, frames.encode(header(CodecSpec.fp16(), Phase.DECODE, 1, 288), x).length);
        assertEquals(68 + 1152, frames.encode(header(CodecSpec.fp32(), Phase.DECODE, 1, 288), x).length);
        assertEquals(68 + 306, frames.encode(header(CodecSpec.q8_0(), Phase.DECODE, 1, 288), x).length);
        assertEquals(68 + 148, frames.encode(header(CodecSpec.uniform(4), Phase.DECODE, 1, 288), x).length);
        x[5] = 40f;
        x[100] = -25f;
        byte[] tabq = frames.encode(header(CodecSpec.parse("tabq:eps=0.01,bits=4,tau=8"), Phase.DECODE, 1, 288), x);
        assertEquals(68 + 148 + 2 + 2 * 4, tabq.length);
    }

    @Test
    void sessionChannelsAreSentOnceAndReferencedAfter() throws Exception {
        Random random = new Random(4);
        int dim = 64;
        CodecSpec spec = CodecSpec.parse("tabq:eps=0.001,tau=10,channels=session");
        float[] prompt = gaussian(random, 4 * dim);
        for (int t = 0; t < 4; t++) {
            prompt[t * dim + 3] = 50f;
            prompt[t * dim + 40] = -30f;
        }
        OutlierChannels channels = OutlierChannels.select(prompt, 4, dim, 10f);
        assertEquals(OutlierChannels.of(3, 40), channels);
        byte[] prefill = frames.encode(header(spec, Phase.PREFILL, 4, dim), prompt, channels, true);
        Frame first = frames.decode(prefill, LIMITS);
        assertTrue(first.channelsInFrame());
        assertEquals(channels, first.channels());
        assertEquals(50f, first.hidden()[3], 0f);

        float[] token = gaussian(random, dim);
        token[3] = 45f;
        byte[] decode = frames.encode(header(spec, Phase.DECODE, 1, dim), token, channels, false);
        assertTrue(decode.length < prefill.length);
        assertEquals(45f, frames.decode(decode, LIMITS, first.channels()).hidden()[3], 0f);
        assertFalse(frames.decode(decode, LIMITS, first.channels()).channelsInFrame());
        FrameException missing = assertThrows(FrameException.class, () -> frames.decode(decode, LIMITS));
        assertEquals(FrameException.Reason.MISSING_CHANNELS, missing.reason());
        assertEquals(FrameException.Reason.BAD_PAYLOAD,
                assertThrows(FrameException.class, () -> frames.decode(decode, LIMITS, OutlierChannels.of(3))).reason());
        assertThrows(IllegalArgumentException.class, () -> frames.encode(header(spec, Phase.PREFILL, 4, dim), prompt, channels, false),
                "prefill must carry the list");
        // Drop the carry flag from a prefill frame: the decoder refuses it too.
        byte[] noList = frames.encode(header(spec, Phase.DECODE, 4, dim), prompt, channels, false);
        noList[6] = 0; // phase PREFILL
        fixCrc(noList);
        assertEquals(FrameException.Reason.BAD_FIELD, assertThrows(FrameException.class,
                () -> frames.decode(noList, LIMITS, channels)).reason());
        // A list in a frame whose codec is not in session mode (flag bit 2 of the codec flags cleared).
        assertEquals(FrameException.Reason.BAD_FIELD, assertThrows(FrameException.class,
                () -> frames.decode(patched(prefill, 41, 1, 0), LIMITS)).reason());
        // A list that is not ascending.
        byte[] unordered = patched(prefill, 62, 2, 41);
        assertEquals(FrameException.Reason.BAD_FIELD, assertThrows(FrameException.class,
                () -> frames.decode(unordered, LIMITS)).reason());
    }

    private void assertReason(FrameException.Reason reason, byte[] bytes, FrameLimits limits) {
        FrameException e = assertThrows(FrameException.class, () -> frames.decode(bytes, limits));
        assertEquals(reason, e.reason(), e.getMessage());
        assertTrue(e.getMessage().startsWith(reason.name()), e.getMessage());
    }

    /** A copy of {@code frame} with {@code value}'s low {@code size} bytes written at {@code offset} and a fresh CRC. */
    private static byte[] patched(byte[] frame, int offset, int size, long value) {
        byte[] b = frame.clone();
        for (int i = 0; i < size; i++) {
            b[offset + i] = (byte) (value >>> (8 * i));
        }
        fixCrc(b);
        return b;
    }

    @Test
    void everyRejectionHasItsReason() {
        Random random = new Random(5);
        byte[] good = frames.encode(header(CodecSpec.parse("tabq:tau=3"), Phase.PREFILL, 4, 32), gaussian(random, 128));
        assertReason(FrameException.Reason.TOO_LARGE, good, new FrameLimits(64, 4096, good.length - 1));
        assertReason(FrameException.Reason.TOO_LARGE, good, new FrameLimits(3, 4096, 1 << 20));
        assertReason(FrameException.Reason.TOO_LARGE, good, new FrameLimits(64, 31, 1 << 20));
        assertReason(FrameException.Reason.TRUNCATED, Arrays.copyOf(good, 3), LIMITS);
        assertReason(FrameException.Reason.TRUNCATED, Arrays.copyOf(good, 30), LIMITS);
        assertReason(FrameException.Reason.TRUNCATED, Arrays.copyOf(good, good.length - 1), LIMITS);
        assertReason(FrameException.Reason.TRAILING_BYTES, Arrays.copyOf(good, good.length + 1), LIMITS);
        assertReason(FrameException.Reason.BAD_MAGIC, patched(good, 0, 1, 'X'), LIMITS);
        assertReason(FrameException.Reason.BAD_VERSION, patched(good, 4, 1, 3), LIMITS);
        byte[] flipped = good.clone();
        flipped[good.length / 2] ^= 0x10;
        assertReason(FrameException.Reason.BAD_CHECKSUM, flipped, LIMITS);
        assertReason(FrameException.Reason.BAD_FIELD, patched(good, 5, 1, 0x80), LIMITS);     // unknown flag
        assertReason(FrameException.Reason.BAD_FIELD, patched(good, 6, 1, 2), LIMITS);        // phase
        assertReason(FrameException.Reason.BAD_FIELD, patched(good, 7, 1, 1), LIMITS);        // reserved
        assertReason(FrameException.Reason.BAD_FIELD, patched(good, 16, 8, -1L), LIMITS);     // step
        assertReason(FrameException.Reason.BAD_FIELD, patched(good, 26, 2, 24), LIMITS);      // params length
        assertReason(FrameException.Reason.BAD_FIELD, patched(good, 28, 4, -5), LIMITS);      // start position
        assertReason(FrameException.Reason.BAD_FIELD, patched(good, 32, 4, 0), LIMITS);       // T = 0
        assertReason(FrameException.Reason.BAD_FIELD, patched(good, 28, 4, Integer.MAX_VALUE - 1), LIMITS); // positions overflow
        assertReason(FrameException.Reason.TOO_LARGE, patched(good, 32, 4, 0xffffffffL), LIMITS);
        assertReason(FrameException.Reason.BAD_PAYLOAD, patched(good, 32, 4, 5), LIMITS);     // T disagrees with payload
        assertReason(FrameException.Reason.BAD_PAYLOAD, patched(good, 36, 4, 33), LIMITS);    // d disagrees with payload
        assertReason(FrameException.Reason.BAD_CODEC, patched(good, 40, 1, 9), LIMITS);       // kind
        assertReason(FrameException.Reason.BAD_CODEC, patched(good, 41, 1, 0x40), LIMITS);    // codec flag
        assertReason(FrameException.Reason.BAD_CODEC, patched(good, 42, 1, 4), LIMITS);       // uniform bits on tabq
        assertReason(FrameException.Reason.BAD_CODEC, patched(good, 43, 1, 0), LIMITS);       // empty bit set
        assertReason(FrameException.Reason.BAD_CODEC, patched(good, 44, 4, Float.floatToIntBits(Float.NaN)), LIMITS);
        assertReason(FrameException.Reason.BAD_CODEC, patched(good, 48, 4, Float.floatToIntBits(-1f)), LIMITS);
        assertReason(FrameException.Reason.BAD_CODEC, patched(good, 48, 4, 0), LIMITS);       // tau 0 on the wire
        assertReason(FrameException.Reason.BAD_CODEC, patched(good, 52, 8, 5), LIMITS);       // seed without rotation
        assertReason(FrameException.Reason.TRUNCATED, patched(good, 5, 1, 1), LIMITS);        // payload length read as a channel count
        assertReason(FrameException.Reason.TRUNCATED, patched(good, 60, 4, 0x7fffffff), LIMITS); // payload length
        assertReason(FrameException.Reason.BAD_PAYLOAD, patched(good, 64, 1, 5), LIMITS);     // bit-width 5 not in set
    }

    @Test
    void zstdBombsAreRefusedBeforeAllocation() throws Exception {
        CodecSpec spec = CodecSpec.parse("fp16:zstd");
        float[] zeros = new float[64 * 4096];
        byte[] big = frames.encode(header(spec, Phase.PREFILL, 64, 4096), zeros);
        assertTrue(big.length < 2000, "zeros compress to almost nothing: " + big.length);
        FrameLimits limits = new FrameLimits(64, 4096, 1 << 16); // the frame fits, 512 KiB of raw payload does not
        FrameException e = assertThrows(FrameException.class, () -> frames.decode(big, limits));
        assertEquals(FrameException.Reason.BAD_PAYLOAD, e.reason());
        assertTrue(e.getMessage().contains("above the limit"), e.getMessage());
        assertEquals(64 * 4096, frames.decode(big, new FrameLimits(64, 4096, 1 << 20)).hidden().length);
        // Raw length prefix smaller than what the zstd frame holds: refused from the zstd header.
        byte[] lying = patched(big, 64, 4, 64 * 4096 * 2 - 2);
        assertEquals(FrameException.Reason.BAD_PAYLOAD, assertThrows(FrameException.class,
                () -> frames.decode(lying, new FrameLimits(64, 4096, 1 << 20))).reason());
    }

    @Test
    void issue19StagesTravelInVersion2FramesAndNameTheirTables() throws FrameException {
        Random random = new Random(19);
        int d = 64;
        CodecSpec template = CodecSpec.parse("tabq:eps=0.0003,bits=2/3/4/5/6/7/8,tau=3,group=32,mean,rot,ans,zstd=prefill");
        dev.splitllm.quantization.codec.CodecTables tables =
                dev.splitllm.quantization.codec.CodecTables.calibrate(template, 3, gaussian(random, 128 * d), 128, d);
        CodecSpec spec = template.withTables(tables.hash());
        SessionCodec edge = new SessionCodec(spec, tables);
        SessionCodec cloud = new SessionCodec(spec, tables);
        float[] prompt = gaussian(random, 5 * d);
        byte[] prefill = edge.encodeFrame(header(spec, Phase.PREFILL, 5, d), prompt);
        assertEquals(2, prefill[4]);
        assertEquals(32, (prefill[26] & 0xff) | (prefill[27] & 0xff) << 8);
        Frame f = cloud.decodeFrame(prefill, LIMITS);
        assertEquals(spec, f.header().codec());
        float[] expected = edge.roundTrip(prompt, 5, d, SessionCodec.ByteCounter.NONE);
        assertArrayEquals(expected, f.hidden());
        // other tables, or none: refused with the reason, never decoded with the wrong mean / table
        dev.splitllm.quantization.codec.CodecTables other =
                dev.splitllm.quantization.codec.CodecTables.calibrate(template, 3, gaussian(random, 128 * d), 128, d);
        assertEquals(FrameException.Reason.BAD_CODEC,
                assertThrows(FrameException.class, () -> frames.decode(prefill, LIMITS, null, other)).reason());
        assertEquals(FrameException.Reason.BAD_CODEC,
                assertThrows(FrameException.class, () -> frames.decode(prefill, LIMITS)).reason());
        // old codecs still go out as version 1, byte for byte the old layout
        byte[] v1 = frames.encode(header(CodecSpec.parse("tabq:tau=3,rot,zstd"), Phase.DECODE, 1, d), gaussian(random, d));
        assertEquals(1, v1[4]);
        assertEquals(20, v1[26]);
        // a spec naming tables nobody has cannot open a session
        assertThrows(IllegalArgumentException.class, () -> new SessionCodec(template.withTables(0x5eed5eedL)));
        assertThrows(IllegalArgumentException.class, () -> new SessionCodec(template));
    }
}
