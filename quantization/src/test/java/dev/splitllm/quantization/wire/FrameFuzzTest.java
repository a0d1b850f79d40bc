package dev.splitllm.quantization.wire;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CodecTables;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import dev.splitllm.quantization.codec.OutlierChannels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of the frame decoder: truncated, bit-flipped, field-mutated, spliced and extended
 * frames, first as they are (the checksum catches them) and then with the CRC recomputed so the
 * field and payload validation is what has to catch them. Every outcome must be a FrameException
 * or a well-formed Frame; nothing else may escape, and the whole run is bounded in time. Compact
 * (version-3) frames of the same codecs get the same treatment, decoded with their own session's
 * context, another session's, or none.
 */
class FrameFuzzTest {
    private static final FrameLimits LIMITS = new FrameLimits(16, 512, 1 << 16);
    private static final int MUTATIONS_PER_MODE = 12_000;

    private final FrameCodec frames = new FrameCodec();

    /** Tables for the issue-19 stages (mean, rANS), calibrated on seeded rows of d = 48. */
    static final int STAGE_DIM = 48;
    private static final String[] STAGE_TEMPLATES = {
        "tabq:eps=0.001,bits=2/3/4/5/6/7/8,tau=2,rot,ans",
        "tabq:eps=0.0003,bits=2/4/8,group=16,mean,ans,zstd=prefill",
        "tabq:eps=0.001,tau=1.8,group=32,mean,rot,ans,channels=session",
        "tabq:eps=0.01,bits=1/2/3,tau=2,mean",
        "tabq:eps=0.0002,tau=2,mean,rot,step,ans,zstd=prefill"};
    private final List<CodecTables> stageTables = new ArrayList<>();

    private List<byte[]> seeds(Random random) {
        List<byte[]> seeds = new ArrayList<>();
        stageTables.clear();
        for (String t : STAGE_TEMPLATES) {
            CodecSpec template = CodecSpec.parse(t);
            float[] calib = FrameCodecTest.gaussian(new Random(t.hashCode()), 64 * STAGE_DIM);
            CodecTables tables = CodecTables.calibrate(template, 2, calib, 64, STAGE_DIM);
            stageTables.add(tables);
            CodecSpec spec = template.withTables(tables.hash());
            for (Phase phase : Phase.values()) {
                if (phase == Phase.DRAFT && spec.sessionChannels()) continue; // needs the session's stored set: seeded below
                int tokens = phase == Phase.DECODE ? 1 : 2 + random.nextInt(3);
                float[] x = FrameCodecTest.gaussian(random, tokens * STAGE_DIM);
                OutlierChannels ch = spec.sessionChannels() ? OutlierChannels.select(x, tokens, STAGE_DIM, spec.tau()) : null;
                Draft draft = phase == Phase.DRAFT ? draft(random, tokens - 1) : null;
                seeds.add(frames.encode(new FrameHeader(random.nextLong(), random.nextInt(1000), phase, 2, random.nextInt(100),
                        tokens, STAGE_DIM, spec), x, ch, ch != null && draft == null, tables, draft));
            }
        }
        String[] specs = {"fp32", "fp16", "q8_0", "q8_0:rot,zstd", "uniform:bits=3", "uniform:bits=8,rot",
            "tabq:eps=0.001,tau=2", "tabq:eps=0.01,bits=1/2/5/7,tau=1.5,zstd", "tabq:eps=0.001,tau=2,rot=3,zstd", "tabq"};
        for (String s : specs) {
            int tokens = 1 + random.nextInt(4);
            int dim = 8 + random.nextInt(60);
            float[] x = FrameCodecTest.gaussian(random, tokens * dim);
            seeds.add(frames.encode(new FrameHeader(random.nextLong(), random.nextInt(1000), Phase.values()[random.nextInt(2)],
                    random.nextInt(40), random.nextInt(100), tokens, dim, CodecSpec.parse(s)), x));
        }
        CodecSpec session = CodecSpec.parse("tabq:eps=0.001,tau=1.8,channels=session");
        float[] x = FrameCodecTest.gaussian(random, 3 * 40);
        OutlierChannels channels = OutlierChannels.select(x, 3, 40, 1.8f);
        seeds.add(frames.encode(new FrameHeader(7, 0, Phase.PREFILL, 2, 0, 3, 40, session), x, channels, true));
        seeds.add(frames.encode(new FrameHeader(7, 1, Phase.DECODE, 2, 3, 1, 40, session), x, channels, false));
        seeds.add(frames.encode(new FrameHeader(7, 2, Phase.DRAFT, 2, 4, 3, 40, session), x, channels, false, null, draft(random, 2)));
        seeds.add(frames.encode(new FrameHeader(9, 5, Phase.DRAFT, 3, 9, 2, 40, CodecSpec.parse("fp16")), x, null, false, null,
                draft(random, 1)));
        return seeds;
    }

    /** A compact (version-3) frame with the session context and tables that decode it. */
    private record CompactSeed(byte[] bytes, FrameCodec.SessionContext context, CodecTables tables) { }

    /** The stage codecs and plain ones again, as compact frames of every phase. */
    private List<CompactSeed> compactSeeds(Random random) {
        seeds(random); // calibrates the stage tables
        List<CompactSeed> out = new ArrayList<>();
        for (int i = 0; i < STAGE_TEMPLATES.length + 6; i++) {
            boolean stage = i < STAGE_TEMPLATES.length;
            CodecTables tables = stage ? stageTables.get(i) : null;
            CodecSpec spec = stage ? CodecSpec.parse(STAGE_TEMPLATES[i]).withTables(tables.hash())
                    : CodecSpec.parse(new String[] {"fp32", "fp16", "q8_0:rot,zstd", "uniform:bits=3", "tabq:eps=0.001,tau=2",
                        "tabq:eps=0.001,tau=1.8,channels=session"}[i - STAGE_TEMPLATES.length]);
            int dim = stage ? STAGE_DIM : 40;
            long tag = random.nextLong();
            for (Phase phase : Phase.values()) {
                int tokens = phase == Phase.DECODE ? 1 : 2 + random.nextInt(3);
                float[] x = FrameCodecTest.gaussian(random, tokens * dim);
                OutlierChannels ch = spec.sessionChannels()
                        ? (phase == Phase.PREFILL ? OutlierChannels.select(x, tokens, dim, spec.tau()) : OutlierChannels.of(1, 5, 30)) : null;
                Draft draft = phase == Phase.DRAFT ? draft(random, tokens - 1) : null;
                // Steps and positions of every varint length from one to three bytes.
                long step = phase == Phase.PREFILL ? 0 : new long[] {1, 200, 70_000}[random.nextInt(3)];
                int start = new int[] {0, 130, 20_000}[random.nextInt(3)];
                byte[] b = frames.encode(new FrameHeader(tag, step, phase, random.nextInt(300), start, tokens, dim, spec), x, ch,
                        ch != null && phase == Phase.PREFILL, tables, draft, true);
                out.add(new CompactSeed(b, new FrameCodec.SessionContext(tag, dim, spec), tables));
            }
        }
        return out;
    }

    /**
     * Mutated compact frames, decoded with their own session (mostly), another session's context
     * or none: nothing but a FrameException or a well-formed frame comes out.
     */
    private void fuzzCompact(boolean recomputeCrc, long seed) {
        Random random = new Random(seed);
        List<CompactSeed> seeds = compactSeeds(random);
        OutlierChannels stored = OutlierChannels.of(1, 5, 30);
        int accepted = 0;
        for (int i = 0; i < MUTATIONS_PER_MODE; i++) {
            CompactSeed s = seeds.get(random.nextInt(seeds.size()));
            byte[] frame = mutate(s.bytes(), random);
            if (recomputeCrc && frame.length >= 4) {
                CompactFrameTest.fixCompactCrc(frame, s.context()); // the CRC of the session it was made for
            }
            int pick = random.nextInt(8);
            CompactSeed other = seeds.get(random.nextInt(seeds.size()));
            FrameCodec.SessionContext context = pick == 0 ? null : pick == 1 ? other.context() : s.context();
            CodecTables tables = pick == 1 ? other.tables() : random.nextInt(8) == 0 ? null : s.tables();
            OutlierChannels channels = random.nextBoolean() ? stored : null;
            if (wellFormed(() -> frames.decode(frame, LIMITS, channels, tables, context), "compact mutation " + i, recomputeCrc)) {
                accepted++;
            }
        }
        checkCounts(accepted, recomputeCrc);
    }

    /** What a decode may do with a mutated frame. */
    private interface Decoding {
        Frame decode() throws FrameException;
    }

    /** True for a well-formed frame, false for a FrameException; anything else fails the test. */
    private static boolean wellFormed(Decoding decoding, String what, boolean recomputeCrc) {
        try {
            Frame f = decoding.decode();
            FrameHeader h = f.header();
            assertEquals((long) h.tokens() * h.dim(), f.hidden().length);
            for (float v : f.hidden()) {
                assertTrue(Float.isFinite(v), "decoded a non-finite value");
            }
            return true;
        } catch (FrameException e) {
            assertNotNull(e.reason());
            return false;
        } catch (Throwable t) {
            return fail(what + " (crc " + (recomputeCrc ? "recomputed" : "kept") + ") escaped as " + t, t);
        }
    }

    /** The checksum alone catches almost every mutation; validation catches most of those with a fresh one. */
    private static void checkCounts(int accepted, boolean recomputeCrc) {
        if (!recomputeCrc) {
            assertTrue(accepted < MUTATIONS_PER_MODE / 100, "the checksum should catch almost every mutation, accepted " + accepted);
        }
        assertTrue(MUTATIONS_PER_MODE - accepted > MUTATIONS_PER_MODE / 2, "most mutations must be rejected, accepted " + accepted);
    }

    @Test
    void compactFramesRoundTripWithTheirSession() throws FrameException {
        int checked = 0;
        for (CompactSeed s : compactSeeds(new Random(12))) {
            Frame f = frames.decode(s.bytes(), LIMITS, OutlierChannels.of(1, 5, 30), s.tables(), s.context());
            assertEquals(s.context().dim(), f.header().dim());
            assertEquals(s.context().codec(), f.header().codec());
            checked++;
        }
        assertEquals(3 * (STAGE_TEMPLATES.length + 6), checked);
    }

    @Test
    void mutatedCompactFramesAreRejectedByTheChecksum() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> fuzzCompact(false, 20261201L));
    }

    @Test
    void mutatedCompactFramesWithFreshChecksumsAreRejectedByValidation() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> fuzzCompact(true, 77L));
    }

    /** A draft of k tokens, greedy or with proposals of 1..4 entries. */
    static Draft draft(Random random, int k) {
        int[] ids = new int[k];
        for (int i = 0; i < k; i++) ids[i] = random.nextInt(32000);
        if (random.nextBoolean()) return Draft.greedy(ids);
        int[][] pIds = new int[k][];
        float[][] pP = new float[k][];
        for (int i = 0; i < k; i++) {
            int n = 1 + random.nextInt(4);
            pIds[i] = new int[n];
            pP[i] = new float[n];
            for (int j = 0; j < n; j++) {
                pIds[i][j] = j == 0 ? ids[i] : 32000 + i * 10 + j;
                pP[i][j] = 0.9f / n;
            }
        }
        return Draft.sampled(ids, pIds, pP);
    }

    private static byte[] mutate(byte[] seed, Random random) {
        byte[] b = seed.clone();
        switch (random.nextInt(7)) {
            case 0: // truncate
                return Arrays.copyOf(b, random.nextInt(b.length));
            case 1: { // flip a few bits
                int flips = 1 + random.nextInt(3);
                for (int i = 0; i < flips; i++) {
                    b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
                }
                return b;
            }
            case 2: { // overwrite a header or codec field with an extreme or random value
                int offset = random.nextInt(Math.min(b.length, FrameCodec.CHANNELS_OFFSET + 8));
                int size = 1 + random.nextInt(8);
                long[] extremes = {0, -1, 1, 0x7fffffffL, 0x80000000L, 0xffffL, 0x10000L, random.nextLong()};
                long value = extremes[random.nextInt(extremes.length)];
                for (int i = 0; i < size && offset + i < b.length; i++) {
                    b[offset + i] = (byte) (value >>> (8 * i));
                }
                return b;
            }
            case 3: { // scribble over payload bytes
                int start = Math.min(b.length - 1, FrameCodec.CHANNELS_OFFSET + random.nextInt(Math.max(1, b.length - FrameCodec.CHANNELS_OFFSET)));
                int n = 1 + random.nextInt(6);
                for (int i = 0; i < n && start + i < b.length; i++) {
                    b[start + i] = (byte) random.nextInt(256);
                }
                return b;
            }
            case 4: { // append bytes
                byte[] longer = Arrays.copyOf(b, b.length + 1 + random.nextInt(16));
                for (int i = b.length; i < longer.length; i++) {
                    longer[i] = (byte) random.nextInt(256);
                }
                return longer;
            }
            case 5: { // cut a slice out of the middle
                int from = random.nextInt(b.length);
                int to = Math.min(b.length, from + 1 + random.nextInt(8));
                byte[] shorter = new byte[b.length - (to - from)];
                System.arraycopy(b, 0, shorter, 0, from);
                System.arraycopy(b, to, shorter, from, b.length - to);
                return shorter;
            }
            default: { // random garbage of the same length with a valid magic
                for (int i = 4; i < b.length; i++) {
                    b[i] = (byte) random.nextInt(256);
                }
                return b;
            }
        }
    }

    private void fuzz(boolean recomputeCrc, long seed) {
        Random random = new Random(seed);
        List<byte[]> seeds = seeds(random);
        OutlierChannels stored = OutlierChannels.of(1, 5, 30);
        int accepted = 0;
        for (int i = 0; i < MUTATIONS_PER_MODE; i++) {
            byte[] frame = mutate(seeds.get(random.nextInt(seeds.size())), random);
            if (recomputeCrc && frame.length >= 4) {
                FrameCodecTest.fixCrc(frame);
            }
            // the session's tables: sometimes the frame's own, sometimes another session's, sometimes none
            CodecTables tables = random.nextInt(4) == 0 ? null : tablesFor(frame, random);
            OutlierChannels channels = random.nextBoolean() ? stored : null;
            if (wellFormed(() -> frames.decode(frame, LIMITS, channels, tables), "mutation " + i, recomputeCrc)) {
                accepted++;
            }
        }
        checkCounts(accepted, recomputeCrc);
    }

    /** The tables a frame names when it names calibrated ones (else a random one of them). */
    private CodecTables tablesFor(byte[] frame, Random random) {
        CodecTables own = ownTables(frame);
        if (stageTables.isEmpty()) {
            return null;
        }
        return own != null && random.nextInt(8) != 0 ? own : stageTables.get(random.nextInt(stageTables.size()));
    }

    /** The tables whose hash a version-2 frame names, or null. */
    private CodecTables ownTables(byte[] frame) {
        for (CodecTables t : stageTables) {
            if (frame.length > 80 && frame[4] == 2 && t.hash() == ByteBuffer.wrap(frame, 64, 8).order(ByteOrder.LITTLE_ENDIAN).getLong()) {
                return t;
            }
        }
        return null;
    }

    @Test
    void newStagesRoundTripThroughFrames() throws FrameException {
        Random random = new Random(8);
        List<byte[]> seeds = seeds(random);
        int checked = 0;
        for (byte[] b : seeds) {
            if (b[4] != 2) {
                continue;
            }
            Frame f = frames.decode(b, LIMITS, null, ownTables(b));
            assertEquals(STAGE_DIM, f.header().dim());
            assertTrue(f.header().codec().tablesHash() != 0);
            checked++;
        }
        assertTrue(checked >= 2 * STAGE_TEMPLATES.length, checked + " stage frames");
    }

    @Test
    void mutatedFramesAreRejectedByTheChecksum() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> fuzz(false, 20261127L));
    }

    @Test
    void mutatedFramesWithFreshChecksumsAreRejectedByValidation() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> fuzz(true, 4242L));
    }

    @Test
    void fieldValidationSeesEveryReason() {
        // With fresh checksums the decoder has to name field-level reasons, not just BAD_CHECKSUM.
        Random random = new Random(99);
        List<byte[]> seeds = seeds(random);
        java.util.EnumSet<FrameException.Reason> seen = java.util.EnumSet.noneOf(FrameException.Reason.class);
        for (int i = 0; i < 4000; i++) {
            byte[] frame = mutate(seeds.get(random.nextInt(seeds.size())), random);
            if (frame.length >= 4) {
                FrameCodecTest.fixCrc(frame);
            }
            try {
                frames.decode(frame, LIMITS, null, tablesFor(frame, random));
            } catch (FrameException e) {
                seen.add(e.reason());
            }
        }
        for (FrameException.Reason r : new FrameException.Reason[] {FrameException.Reason.TRUNCATED, FrameException.Reason.BAD_FIELD,
            FrameException.Reason.BAD_CODEC, FrameException.Reason.BAD_PAYLOAD, FrameException.Reason.TOO_LARGE,
            FrameException.Reason.TRAILING_BYTES, FrameException.Reason.BAD_VERSION}) {
            assertTrue(seen.contains(r), "fuzzing never produced " + r + "; saw " + seen);
        }
    }
}
