package dev.splitllm.quantization.wire;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CodecTables;
import dev.splitllm.quantization.codec.OutlierChannels;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Compact (version-3) frames: the same frame as a full one minus what the session fixes (tag, d,
 * codec), with a varint header. They decode to exactly what the full frame decodes to, cost 17
 * bytes besides the payload on a decode frame, and are refused without their session or when a
 * field is not in its one canonical form.
 */
class CompactFrameTest {
    private static final FrameLimits LIMITS = new FrameLimits(64, 4096, 1 << 20);
    private static final long TAG = 0x1122334455667788L;
    private final FrameCodec frames = new FrameCodec();

    private static FrameCodec.SessionContext context(int dim, CodecSpec spec) {
        return new FrameCodec.SessionContext(TAG, dim, spec);
    }

    private void assertSameFrame(Frame full, Frame compact, String what) {
        assertEquals(full.header(), compact.header(), what);
        assertEquals(full.channels(), compact.channels(), what);
        assertEquals(full.channelsInFrame(), compact.channelsInFrame(), what);
        assertEquals(full.draft() == null, compact.draft() == null, what);
        if (full.draft() != null) {
            assertEquals(full.draft().size(), compact.draft().size(), what);
            for (int i = 0; i < full.draft().size(); i++) assertEquals(full.draft().token(i), compact.draft().token(i), what);
        }
        assertEquals(full.hidden().length, compact.hidden().length, what);
        for (int i = 0; i < full.hidden().length; i++) {
            assertEquals(Float.floatToRawIntBits(full.hidden()[i]), Float.floatToRawIntBits(compact.hidden()[i]), what + " value " + i);
        }
    }

    @Test
    void aCompactFrameDecodesToWhatTheFullFrameDecodesTo() throws FrameException {
        Random random = new Random(3);
        int d = 96;
        CodecSpec template = CodecSpec.parse("tabq:eps=0.0002,tau=2,mean,rot,step,ans,zstd=prefill");
        CodecTables tables = CodecTables.calibrate(template, 3, FrameCodecTest.gaussian(new Random(5), 64 * d), 64, d);
        for (String s : new String[] {"fp32", "fp16", "q8_0", "uniform:bits=4", "tabq:eps=0.001,tau=2.5,rot,zstd",
            "tabq:eps=0.001,tau=1.8,channels=session", "TABLES"}) {
            CodecSpec spec = s.equals("TABLES") ? template.withTables(tables.hash()) : CodecSpec.parse(s);
            CodecTables t = spec.needsTables() ? tables : null;
            float[] prompt = FrameCodecTest.gaussian(random, 5 * d);
            OutlierChannels ch = spec.sessionChannels() ? OutlierChannels.select(prompt, 5, d, spec.tau()) : null;
            // The prefill (carrying the channel list in session mode), a decode step, a draft.
            FrameHeader[] headers = {new FrameHeader(TAG, 0, Phase.PREFILL, 3, 0, 5, d, spec),
                new FrameHeader(TAG, 300, Phase.DECODE, 3, 70_000, 1, d, spec),
                new FrameHeader(TAG, 301, Phase.DRAFT, 3, 70_001, 3, d, spec)};
            for (FrameHeader h : headers) {
                Draft draft = h.phase() == Phase.DRAFT ? Draft.greedy(new int[] {17, 4000}) : null;
                boolean carry = ch != null && h.phase() == Phase.PREFILL;
                byte[] full = frames.encode(h, prompt, ch, carry, t, draft, false);
                byte[] compact = frames.encode(h, prompt, ch, carry, t, draft, true);
                assertEquals(FrameCodec.COMPACT_VERSION, compact[4], s);
                Frame a = frames.decode(full, LIMITS, ch, t);
                Frame b = frames.decode(compact, LIMITS, ch, t, context(d, spec));
                assertSameFrame(a, b, s + " " + h.phase());
                // Same payload, smaller frame: the difference is exactly the two headers' difference.
                int fullOverhead = FrameCodec.overheadBytes(spec, carry ? ch.size() : -1);
                int compactOverhead = FrameCodec.compactOverheadBytes(h.step(), h.splitLayer(), h.startPosition(), h.tokens(),
                        carry ? ch.size() : -1);
                assertEquals(full.length - fullOverhead, compact.length - compactOverhead, s + " " + h.phase() + " payload");
                // Rewritten as a full frame (a replay to a replica that may not take compact ones):
                // exactly the bytes the encoder writes for the full frame.
                assertArrayEquals(full, FrameCodec.toFull(compact, context(d, spec)), s + " " + h.phase() + " toFull");
                assertSame(full, FrameCodec.toFull(full, context(d, spec)), "a full frame stays as it is");
                // A full frame still decodes when the session takes compact ones.
                assertSameFrame(a, frames.decode(full, LIMITS, ch, t, context(d, spec)), s + " full with context");
            }
        }
    }

    @Test
    void aDecodeFrameCostsItsPayloadPlusSeventeenBytes() throws FrameException {
        CodecSpec spec = CodecSpec.parse("fp16");
        float[] row = FrameCodecTest.gaussian(new Random(1), 288);
        FrameHeader h = new FrameHeader(TAG, 200, Phase.DECODE, 3, 210, 1, 288, spec);
        byte[] compact = frames.encode(h, row, null, false, null, null, true);
        assertEquals(576 + 17, compact.length);
        assertEquals(17, FrameCodec.compactOverheadBytes(200, 3, 210, 1, -1));
        assertEquals(576 + 68, frames.encode(h, row).length);
        // Small steps and positions take one byte each.
        assertEquals(15, FrameCodec.compactOverheadBytes(5, 3, 9, 1, -1));
        assertEquals(h, frames.decode(compact, LIMITS, null, null, context(288, spec)).header());
    }

    @Test
    void withoutItsSessionACompactFrameIsRefused() {
        CodecSpec spec = CodecSpec.parse("q8_0");
        byte[] compact = frames.encode(new FrameHeader(TAG, 1, Phase.DECODE, 2, 4, 1, 64, spec),
                FrameCodecTest.gaussian(new Random(2), 64), null, false, null, null, true);
        FrameException e = assertThrows(FrameException.class, () -> frames.decode(compact, LIMITS));
        assertEquals(FrameException.Reason.BAD_VERSION, e.reason());
        assertTrue(e.getMessage().contains("compact"), e.getMessage());
    }

    @Test
    void malformedCompactHeadersAreRefusedWithTheirReason() {
        CodecSpec spec = CodecSpec.parse("fp16");
        FrameCodec.SessionContext ctx = context(32, spec);
        float[] row = FrameCodecTest.gaussian(new Random(4), 32);
        byte[] ok = frames.encode(new FrameHeader(TAG, 5, Phase.DECODE, 2, 9, 1, 32, spec), row, null, false, null, null, true);
        // Layout: magic(4) version flags phase | step=5 split=2 start=9 T=1 | 64 payload bytes | CRC.
        assertEquals(5, ok[7]);
        assertEquals(2, ok[8]);

        // The step written in two bytes (0x85 0x00) is the same number, but not its shortest form.
        byte[] overlong = splice(ok, 7, 1, new byte[] {(byte) 0x85, 0x00});
        assertReason(FrameException.Reason.BAD_FIELD, overlong, ctx, "shortest");

        // A split layer above u16 (0x10000 = 80 80 04).
        assertReason(FrameException.Reason.BAD_FIELD, splice(ok, 8, 1, new byte[] {(byte) 0x80, (byte) 0x80, 0x04}), ctx, "split layer");

        // A varint that does not fit 63 bits.
        byte[] huge = new byte[10];
        Arrays.fill(huge, (byte) 0xff);
        huge[9] = 0x01;
        assertReason(FrameException.Reason.BAD_FIELD, splice(ok, 7, 1, huge), ctx, "63 bits");

        // Unknown flags, unknown phase, zero tokens.
        byte[] flags = ok.clone();
        flags[5] = 4;
        assertReason(FrameException.Reason.BAD_FIELD, fixed(flags), ctx, "flags");
        byte[] phase = ok.clone();
        phase[6] = 9;
        assertReason(FrameException.Reason.BAD_FIELD, fixed(phase), ctx, "phase");
        byte[] noTokens = ok.clone();
        noTokens[10] = 0;
        assertReason(FrameException.Reason.BAD_FIELD, fixed(noTokens), ctx, "shape");

        // A payload one byte short or long for the session's codec and d.
        assertReason(FrameException.Reason.BAD_PAYLOAD, splice(ok, 12, 1, new byte[0]), ctx, null);
        assertReason(FrameException.Reason.BAD_PAYLOAD, splice(ok, 12, 0, new byte[] {0}), ctx, null);

        // The header runs into the CRC: the start position's varint still continues at the CRC.
        byte[] intoCrc = Arrays.copyOf(ok, 15);
        intoCrc[9] = (byte) 0x80;
        intoCrc[10] = (byte) 0x80;
        assertReason(FrameException.Reason.TRUNCATED, fixed(intoCrc), ctx, null);
        byte[] cut = Arrays.copyOf(ok, 12);
        assertReason(FrameException.Reason.TRUNCATED, cut, ctx, null);

        // A flipped bit without a fresh CRC.
        byte[] flipped = ok.clone();
        flipped[20] ^= 1;
        assertReason(FrameException.Reason.BAD_CHECKSUM, flipped, ctx, null);

        // A session whose d is larger than the receiver takes.
        byte[] wide = frames.encode(new FrameHeader(TAG, 5, Phase.DECODE, 2, 9, 1, 64, spec), FrameCodecTest.gaussian(new Random(6), 64),
                null, false, null, null, true);
        FrameException e = assertThrows(FrameException.class, () -> frames.decode(wide, new FrameLimits(64, 32, 1 << 20), null, null,
                context(64, spec)));
        assertEquals(FrameException.Reason.TOO_LARGE, e.reason(), e.getMessage());
    }

    @Test
    void aCompactFrameDecodedForAnotherSessionFailsItsChecksum() {
        CodecSpec spec = CodecSpec.parse("fp16");
        byte[] ok = frames.encode(new FrameHeader(TAG, 5, Phase.DECODE, 2, 9, 1, 32, spec), FrameCodecTest.gaussian(new Random(4), 32),
                null, false, null, null, true);
        // The CRC covers the session's tag, d and codec, which the frame leaves out.
        assertReason(FrameException.Reason.BAD_CHECKSUM, ok, new FrameCodec.SessionContext(TAG + 1, 32, spec), "another session");
        assertReason(FrameException.Reason.BAD_CHECKSUM, ok, context(16, spec), "another session");
        assertReason(FrameException.Reason.BAD_CHECKSUM, ok, context(32, CodecSpec.parse("q8_0")), "another session");
        assertDoesNotThrow(() -> frames.decode(ok, LIMITS, null, null, context(32, spec)));
        FrameException e = assertThrows(FrameException.class, () -> FrameCodec.toFull(ok, context(16, spec)));
        assertEquals(FrameException.Reason.BAD_CHECKSUM, e.reason(), "toFull checks the session too");
    }

    /** b with {@code remove} bytes at {@code at} replaced by {@code insert}, and a fresh CRC. */
    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return fixed(out);
    }

    /** b with a fresh compact CRC for the session of the malformed-header test (TAG, d = 32, fp16). */
    private static byte[] fixed(byte[] b) {
        fixCompactCrc(b, context(32, CodecSpec.parse("fp16")));
        return b;
    }

    /** Writes a fresh compact-frame CRC (session prefix, then every byte before the last four). */
    static void fixCompactCrc(byte[] b, FrameCodec.SessionContext ctx) {
        int crc = FrameCodec.compactCrc(FrameCodec.sessionPrefix(ctx.sessionId(), ctx.dim(), ctx.codec()), b, b.length - 4);
        for (int i = 0; i < 4; i++) {
            b[b.length - 4 + i] = (byte) (crc >>> (8 * i));
        }
    }

    private void assertReason(FrameException.Reason reason, byte[] bytes, FrameCodec.SessionContext ctx, String inMessage) {
        FrameException e = assertThrows(FrameException.class, () -> frames.decode(bytes, new FrameLimits(64, 4096, 1 << 20), null, null, ctx));
        assertEquals(reason, e.reason(), e.getMessage());
        if (inMessage != null) assertTrue(e.getMessage().contains(inMessage), e.getMessage());
    }
}
