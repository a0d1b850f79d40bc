package dev.splitllm.quantization.wire;

import dev.splitllm.quantization.codec.ActivationCodec;
import dev.splitllm.quantization.codec.ByteReader;
import dev.splitllm.quantization.codec.ByteWriter;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CodecTables;
import dev.splitllm.quantization.codec.CorruptPayloadException;
import dev.splitllm.quantization.codec.OutlierChannels;

/**
 * Encodes and decodes frames: a little-endian header, the codec-parameter block, an optional
 * session outlier-channel list, the payload, and a CRC32C over everything before it (versions 1
 * and 2); or a compact version-3 frame that leaves out what the session already fixes (its tag,
 * d and codec) and writes the rest as varints, about 16 bytes instead of 68-80.
 * docs/WIRE.md has the layouts byte by byte and the validation rules.
 *
 * <p>Decoding treats the bytes as hostile: it checks the frame size, magic, version, declared
 * lengths and checksum, then every field against {@link FrameLimits}, and only then allocates the
 * activations. Every failure is a {@link FrameException}. An instance keeps codec scratch buffers
 * and is not thread-safe; use one per thread or session.
 */
public final class FrameCodec {
    /** "SPLT". */
    public static final int MAGIC = 0x544c5053;
    /**
     * Newest format version: 2 (a 32-byte codec-parameter block for the stages of group, mean,
     * ans, zstd=prefill, and the codec tables hash). Frames whose codec needs none of them are
     * written as version 1, byte for byte as before; both versions are accepted.
     */
    public static final int VERSION = 2;
    /** Frame flag: the frame carries the session outlier-channel list. */
    public static final int FLAG_CHANNELS = 1;
    /**
     * The compact frame: "SPLT", version 3, flags, phase, then varints (step, split layer, start
     * position, T), the optional channel list, the payload up to the CRC32C. A receiver decodes
     * it only with the session it belongs to ({@link SessionContext}); a server says it takes
     * them in its session-created answer, and an edge sends them only then.
     */
    public static final int COMPACT_VERSION = 3;
    /** Smallest compact frame: magic, version, flags, phase, four one-byte varints, CRC. */
    public static final int MIN_COMPACT_FRAME_BYTES = 4 + 3 + 4 + 4;
    /** Oldest version accepted. */
    public static final int MIN_VERSION = 1;
    /** Bytes before the codec-parameter block. */
    public static final int FIXED_HEADER_BYTES = 40;
    /** Offset of the optional channel list (or of the payload length when it is absent) in a version-1 frame. */
    public static final int CHANNELS_OFFSET = FIXED_HEADER_BYTES + CodecParams.SIZE;
    /** Smallest possible frame: header, codec parameters, payload length, CRC. */
    public static final int MIN_FRAME_BYTES = CHANNELS_OFFSET + 4 + 4;

    /**
     * What a compact frame leaves out because the session fixes it: the session tag, d and the
     * codec. A decoder given a context also accepts the full versions (and checks nothing against
     * the context for them: the receiver compares their header with its session as before).
     */
    public record SessionContext(long sessionId, int dim, CodecSpec codec) {
        public SessionContext {
            if (dim < 1 || dim > ActivationCodec.MAX_DIM || codec == null) {
                throw new IllegalArgumentException("a session context needs d in 1.." + ActivationCodec.MAX_DIM + " and a codec");
            }
        }
    }

    private final ActivationCodec codec = new ActivationCodec();
    private final ByteWriter out = new ByteWriter(1 << 12);

    /** Encodes a frame for a codec without session channels. */
    public byte[] encode(FrameHeader header, float[] hidden) {
        return encode(header, hidden, null, false);
    }

    /**
     * Encodes a frame.
     *
     * @param hidden        T×d activations (the first T·d values are sent)
     * @param channels      the session outlier channels; required exactly when the codec is in
     *                      session-channel mode
     * @param carryChannels write the channel list into this frame (required for PREFILL frames in
     *                      session-channel mode; on a DECODE frame it replaces the session's set)
     * @throws IllegalArgumentException on inconsistent arguments or activations the codec cannot encode
     */
    public byte[] encode(FrameHeader header, float[] hidden, OutlierChannels channels, boolean carryChannels) {
        return encode(header, hidden, channels, carryChannels, null);
    }

    /**
     * Encodes a frame whose codec may need calibrated {@code tables} (mean, ans; else null).
     *
     * @throws IllegalArgumentException on inconsistent arguments or activations the codec cannot encode
     */
    public byte[] encode(FrameHeader header, float[] hidden, OutlierChannels channels, boolean carryChannels,
                         CodecTables tables) {
        return encode(header, hidden, channels, carryChannels, tables, null);
    }

    /**
     * Encodes a frame; a DRAFT frame needs its {@code draft} (k = tokens - 1 ids), every other
     * phase none. A DRAFT frame's rows are encoded one by one, each as a one-token payload, so each
     * decodes to exactly what a DECODE frame of that row gives.
     *
     * @throws IllegalArgumentException on inconsistent arguments or activations the codec cannot encode
     */
    public byte[] encode(FrameHeader header, float[] hidden, OutlierChannels channels, boolean carryChannels,
                         CodecTables tables, Draft draft) {
        return encode(header, hidden, channels, carryChannels, tables, draft, false);
    }

    /**
     * Encodes a frame, as a compact version-3 frame when {@code compact} (only for a receiver
     * that said it takes them: it fills the session tag, d and codec in from its session).
     *
     * @throws IllegalArgumentException on inconsistent arguments or activations the codec cannot encode
     */
    public byte[] encode(FrameHeader header, float[] hidden, OutlierChannels channels, boolean carryChannels,
                         CodecTables tables, Draft draft, boolean compact) {
        if ((header.phase() == Phase.DRAFT) != (draft != null)) {
            throw new IllegalArgumentException("a DRAFT frame carries a draft, and only a DRAFT frame");
        }
        if (draft != null && draft.size() != header.tokens() - 1) {
            throw new IllegalArgumentException("a DRAFT frame of " + header.tokens() + " rows carries " + (header.tokens() - 1)
                    + " drafted tokens, got " + draft.size());
        }
        if (draft != null && carryChannels) {
            throw new IllegalArgumentException("a DRAFT frame never carries the channel list (the prefill did)");
        }
        if (header.codec().needsTables() && (tables == null || tables.hash() != header.codec().tablesHash())) {
            throw new IllegalArgumentException("codec " + header.codec() + " needs its codec tables");
        }
        if (carryChannels && channels == null) {
            throw new IllegalArgumentException("carryChannels needs the channel set");
        }
        if (header.codec().sessionChannels() && header.phase() == Phase.PREFILL && !carryChannels) {
            throw new IllegalArgumentException("a PREFILL frame in session-channel mode must carry the channel list");
        }
        byte[] payload = draft == null
                ? codec.encode(header.codec(), hidden, header.tokens(), header.dim(), channels, tables)
                : draftPayload(header, hidden, channels, tables, draft);
        out.reset();
        out.i32(MAGIC);
        if (compact) {
            out.u8(COMPACT_VERSION);
            out.u8(carryChannels ? FLAG_CHANNELS : 0);
            out.u8(header.phase().code);
            varint(out, header.step());
            varint(out, header.splitLayer());
            varint(out, header.startPosition());
            varint(out, header.tokens());
            if (carryChannels) {
                out.u16(channels.size());
                for (int i = 0; i < channels.size(); i++) {
                    out.u16(channels.channel(i));
                }
            }
            out.bytes(payload, 0, payload.length);
            out.i32(compactCrc(sessionPrefix(header.sessionId(), header.dim(), header.codec()), out.array(), out.size()));
            return out.toByteArray();
        }
        out.u8(CodecParams.needsV2(header.codec()) ? 2 : 1);
        out.u8(carryChannels ? FLAG_CHANNELS : 0);
        out.u8(header.phase().code);
        out.u8(0);
        out.i64(header.sessionId());
        out.i64(header.step());
        out.u16(header.splitLayer());
        out.u16(CodecParams.size(header.codec()));
        out.i32(header.startPosition());
        out.i32(header.tokens());
        out.i32(header.dim());
        CodecParams.write(header.codec(), out);
        if (carryChannels) {
            out.u16(channels.size());
            for (int i = 0; i < channels.size(); i++) {
                out.u16(channels.channel(i));
            }
        }
        out.i32(payload.length);
        out.bytes(payload, 0, payload.length);
        out.i32(Crc32c.compute(out.array(), 0, out.size()));
        return out.toByteArray();
    }

    /** Decodes a frame whose codec has no session channels (or which carries its own list). */
    public Frame decode(byte[] bytes, FrameLimits limits) throws FrameException {
        return decode(bytes, limits, null);
    }

    /**
     * Decodes and validates a frame.
     *
     * @param sessionChannels the channel set stored for the session (from an earlier frame), or null;
     *                        used only when the frame is in session-channel mode and carries no list
     */
    public Frame decode(byte[] bytes, FrameLimits limits, OutlierChannels sessionChannels) throws FrameException {
        return decode(bytes, limits, sessionChannels, null);
    }

    /**
     * Decodes and validates a frame with the session's calibrated codec tables ({@code tables},
     * or null when the session has none): a frame whose codec names other tables is rejected
     * ({@code BAD_CODEC}).
     */
    public Frame decode(byte[] bytes, FrameLimits limits, OutlierChannels sessionChannels, CodecTables tables)
            throws FrameException {
        return decode(bytes, limits, sessionChannels, tables, null);
    }

    /**
     * Decodes and validates a frame of the session {@code context} (null: compact frames are
     * refused with {@code BAD_VERSION}); a compact frame takes its session tag, d and codec from it.
     */
    public Frame decode(byte[] bytes, FrameLimits limits, OutlierChannels sessionChannels, CodecTables tables,
                        SessionContext context) throws FrameException {
        if (bytes == null || limits == null) {
            throw new IllegalArgumentException("bytes and limits are required");
        }
        if (bytes.length > limits.maxFrameBytes()) {
            throw new FrameException(FrameException.Reason.TOO_LARGE, bytes.length + " bytes above the limit of " + limits.maxFrameBytes());
        }
        if (bytes.length < 4) {
            throw new FrameException(FrameException.Reason.TRUNCATED, "only " + bytes.length + " bytes");
        }
        ByteReader in = new ByteReader(bytes, 0, bytes.length);
        try {
            return decodeChecked(bytes, in, limits, sessionChannels, tables, context);
        } catch (CorruptPayloadException e) { // a bounded read ran past the end
            throw new FrameException(FrameException.Reason.TRUNCATED, e.getMessage());
        }
    }

    private Frame decodeChecked(byte[] bytes, ByteReader in, FrameLimits limits, OutlierChannels sessionChannels,
                                CodecTables tables, SessionContext context) throws FrameException, CorruptPayloadException {
        if (in.i32("magic") != MAGIC) {
            throw new FrameException(FrameException.Reason.BAD_MAGIC, "not a splitllm frame");
        }
        int version = in.u8("version");
        if (version == COMPACT_VERSION) {
            if (context == null) {
                throw new FrameException(FrameException.Reason.BAD_VERSION, "a compact (version-3) frame, which only a session"
                        + " that asked for them decodes");
            }
            return decodeCompact(bytes, limits, sessionChannels, tables, context);
        }
        if (version < MIN_VERSION || version > VERSION) {
            throw new FrameException(FrameException.Reason.BAD_VERSION, "version " + version + ", this decoder speaks "
                    + MIN_VERSION + ".." + VERSION + (context == null ? "" : " and " + COMPACT_VERSION));
        }
        if (bytes.length < MIN_FRAME_BYTES) {
            throw new FrameException(FrameException.Reason.TRUNCATED, bytes.length + " bytes, a frame has at least " + MIN_FRAME_BYTES);
        }
        int flags = in.u8("flags");
        int phaseCode = in.u8("phase");
        int reserved = in.u8("reserved");
        long sessionId = in.i64("session id");
        long step = in.i64("step");
        int splitLayer = in.u16("split layer");
        int paramsLength = in.u16("codec parameter length");
        int startPosition = in.i32("start position");
        long tokens = in.u32("tokens");
        long dim = in.u32("dim");
        int paramsSize = version == 1 ? CodecParams.SIZE : CodecParams.SIZE_V2;
        if (paramsLength != paramsSize) {
            throw new FrameException(FrameException.Reason.BAD_FIELD, "codec parameter block of " + paramsLength
                    + " bytes, version " + version + " has " + paramsSize);
        }
        int paramsAt = in.skip(paramsSize, "codec parameters");
        int channelCount = 0;
        int channelsAt = -1;
        if ((flags & FLAG_CHANNELS) != 0) {
            channelCount = in.u16("channel count");
            channelsAt = in.skip(2 * channelCount, "channel list");
        }
        long payloadLength = in.u32("payload length");
        long expected = (long) in.position() + payloadLength + 4;
        if (bytes.length < expected) {
            throw new FrameException(FrameException.Reason.TRUNCATED, "frame of " + bytes.length + " bytes, header declares " + expected);
        }
        if (bytes.length > expected) {
            throw new FrameException(FrameException.Reason.TRAILING_BYTES, (bytes.length - expected) + " bytes after the checksum");
        }
        int payloadAt = in.position();
        if (Crc32c.compute(bytes, 0, bytes.length - 4) != intAt(bytes, bytes.length - 4)) {
            throw new FrameException(FrameException.Reason.BAD_CHECKSUM, "CRC32C mismatch");
        }
        if (reserved != 0) {
            throw new FrameException(FrameException.Reason.BAD_FIELD, "non-zero reserved byte " + reserved);
        }
        return decodeFields(bytes, limits, sessionChannels, tables, flags, phaseCode, sessionId, step, splitLayer, startPosition,
                tokens, dim, CodecParams.read(new ByteReader(bytes, paramsAt, paramsSize), version), channelCount, channelsAt,
                payloadAt, payloadLength);
    }

    /**
     * A compact frame: the varint header, the channel list, the payload up to the CRC. The session
     * tag, d and codec come from {@code context}; every field then meets the checks a full frame's do.
     */
    private Frame decodeCompact(byte[] bytes, FrameLimits limits, OutlierChannels sessionChannels,
                                CodecTables tables, SessionContext context) throws FrameException, CorruptPayloadException {
        CompactHead h = CompactHead.parse(bytes, context);
        return decodeFields(bytes, limits, sessionChannels, tables, h.flags, h.phase, context.sessionId(), h.step, h.splitLayer,
                h.startPosition, h.tokens, context.dim(), context.codec(), h.channelCount, h.channelsAt, h.payloadAt,
                bytes.length - 4 - h.payloadAt);
    }

    /**
     * A compact frame's header, parsed after its size and CRC (which also covers the session's tag,
     * d and codec: a frame of another session or codec fails there instead of decoding to wrong
     * values) are checked; the varints and the channel list may not run into the CRC.
     */
    private static final class CompactHead {
        int flags, phase, splitLayer, startPosition, channelCount, channelsAt = -1, payloadAt;
        long step, tokens;

        static CompactHead parse(byte[] bytes, SessionContext context) throws FrameException, CorruptPayloadException {
            if (bytes.length < MIN_COMPACT_FRAME_BYTES) {
                throw new FrameException(FrameException.Reason.TRUNCATED, bytes.length + " bytes, a compact frame has at least "
                        + MIN_COMPACT_FRAME_BYTES);
            }
            if (compactCrc(sessionPrefix(context.sessionId(), context.dim(), context.codec()), bytes, bytes.length - 4)
                    != intAt(bytes, bytes.length - 4)) {
                throw new FrameException(FrameException.Reason.BAD_CHECKSUM, "CRC32C mismatch (or a frame of another session or codec)");
            }
            ByteReader head = new ByteReader(bytes, 5, bytes.length - 4 - 5);
            CompactHead h = new CompactHead();
            h.flags = head.u8("flags");
            h.phase = head.u8("phase");
            h.step = varint(head, "step");
            long splitLayer = varint(head, "split layer");
            long startPosition = varint(head, "start position");
            h.tokens = varint(head, "tokens");
            if (splitLayer > FrameHeader.MAX_SPLIT_LAYER || startPosition > Integer.MAX_VALUE || h.tokens > Integer.MAX_VALUE) {
                throw new FrameException(FrameException.Reason.BAD_FIELD, "split layer " + splitLayer + ", start position "
                        + startPosition + " or token count " + h.tokens + " out of range");
            }
            h.splitLayer = (int) splitLayer;
            h.startPosition = (int) startPosition;
            if ((h.flags & FLAG_CHANNELS) != 0) {
                h.channelCount = head.u16("channel count");
                h.channelsAt = head.skip(2 * h.channelCount, "channel list");
            }
            h.payloadAt = head.position();
            return h;
        }
    }

    /** The checks and the decoding every version shares, once the header is parsed and the CRC holds. */
    private Frame decodeFields(byte[] bytes, FrameLimits limits, OutlierChannels sessionChannels, CodecTables tables, int flags,
                               int phaseCode, long sessionId, long step, int splitLayer, int startPosition, long tokens, long dim,
                               CodecSpec spec, int channelCount, int channelsAt, int payloadAt, long payloadLength)
            throws FrameException, CorruptPayloadException {
        // Header fields.
        if ((flags & ~FLAG_CHANNELS) != 0) {
            throw new FrameException(FrameException.Reason.BAD_FIELD, "unknown flags 0x" + Integer.toHexString(flags));
        }
        Phase phase = Phase.fromCode(phaseCode);
        if (phase == null) {
            throw new FrameException(FrameException.Reason.BAD_FIELD, "unknown phase " + phaseCode);
        }
        if (step < 0 || startPosition < 0) {
            throw new FrameException(FrameException.Reason.BAD_FIELD, "negative step " + step + " or start position " + startPosition);
        }
        if (tokens < 1 || dim < 1) {
            throw new FrameException(FrameException.Reason.BAD_FIELD, "empty shape " + tokens + "x" + dim);
        }
        if (tokens > limits.maxTokens() || dim > limits.maxDim()) {
            throw new FrameException(FrameException.Reason.TOO_LARGE, "shape " + tokens + "x" + dim + " above the limits "
                    + limits.maxTokens() + "x" + limits.maxDim());
        }
        if (startPosition + tokens > Integer.MAX_VALUE) {
            throw new FrameException(FrameException.Reason.BAD_FIELD, "positions " + startPosition + "+" + tokens + " overflow");
        }
        if (tokens * dim > Integer.MAX_VALUE - 16) {
            throw new FrameException(FrameException.Reason.TOO_LARGE, "shape " + tokens + "x" + dim + " does not fit one array");
        }
        if (spec.needsTables()) {
            if (tables == null || tables.hash() != spec.tablesHash()) {
                throw new FrameException(FrameException.Reason.BAD_CODEC, "frame names codec tables " + CodecTables.hex(spec.tablesHash())
                        + ", the session has " + (tables == null ? "none" : CodecTables.hex(tables.hash())));
            }
            if (tables.dim() != dim) {
                throw new FrameException(FrameException.Reason.BAD_FIELD, "codec tables for d " + tables.dim() + ", frame has d " + dim);
            }
            try {
                tables.checkServes(spec, (int) dim);
            } catch (IllegalArgumentException e) {
                throw new FrameException(FrameException.Reason.BAD_CODEC, e.getMessage());
            }
        }
        FrameHeader header = new FrameHeader(sessionId, step, phase, splitLayer, startPosition, (int) tokens, (int) dim, spec);

        // Session outlier channels.
        OutlierChannels channels = null;
        boolean inFrame = channelsAt >= 0;
        if (inFrame) {
            if (!spec.sessionChannels()) {
                throw new FrameException(FrameException.Reason.BAD_FIELD, "channel list in a frame whose codec has no session channels");
            }
            if (channelCount > dim) {
                throw new FrameException(FrameException.Reason.BAD_FIELD, channelCount + " session channels for dim " + dim);
            }
            int[] list = new int[channelCount];
            for (int i = 0; i < channelCount; i++) {
                list[i] = (bytes[channelsAt + 2 * i] & 0xff) | (bytes[channelsAt + 2 * i + 1] & 0xff) << 8;
                if (list[i] >= dim || (i > 0 && list[i] <= list[i - 1])) {
                    throw new FrameException(FrameException.Reason.BAD_FIELD, "session channel " + list[i]
                            + " not below " + dim + " or not ascending");
                }
            }
            channels = OutlierChannels.of(list);
        } else if (spec.sessionChannels()) {
            if (phase == Phase.PREFILL) {
                throw new FrameException(FrameException.Reason.BAD_FIELD, "a PREFILL frame in session-channel mode must carry the channel list");
            }
            if (sessionChannels == null) {
                throw new FrameException(FrameException.Reason.MISSING_CHANNELS, "no channel list in the frame and none stored for the session");
            }
            if (!sessionChannels.fits((int) dim)) {
                throw new FrameException(FrameException.Reason.BAD_FIELD, "the session's channel set does not fit dim " + dim);
            }
            channels = sessionChannels;
        }

        if (phase == Phase.DRAFT) {
            if (inFrame) throw new FrameException(FrameException.Reason.BAD_FIELD, "a DRAFT frame carries no channel list");
            return decodeDraft(bytes, payloadAt, (int) payloadLength, header, channels, limits, spec.needsTables() ? tables : null);
        }

        // Payload: the codec bounds every size against the payload before allocating.
        float[] hidden;
        try {
            hidden = codec.decodeInto(spec, bytes, payloadAt, (int) payloadLength, (int) tokens, (int) dim, channels,
                    limits.maxFrameBytes(), null, spec.needsTables() ? tables : null);
        } catch (CorruptPayloadException e) {
            throw new FrameException(FrameException.Reason.BAD_PAYLOAD, e.getMessage());
        } catch (IllegalStateException e) {
            throw new FrameException(FrameException.Reason.UNSUPPORTED, e.getMessage());
        }
        return new Frame(header, hidden, channels, inFrame);
    }

    /** A DRAFT frame's payload: the draft block, then each row as (u32 length, one-token payload). */
    private byte[] draftPayload(FrameHeader header, float[] hidden, OutlierChannels channels, CodecTables tables, Draft draft) {
        int d = header.dim(), rows = header.tokens();
        if ((long) rows * d > hidden.length) {
            throw new IllegalArgumentException("activations hold " + hidden.length + " values, need " + rows + "x" + d);
        }
        ByteWriter w = new ByteWriter(draft.wireBytes() + rows * (4 + 2 * d));
        w.u8(draft.size());
        w.u8(draft.sampled() ? DRAFT_PROPOSALS : 0);
        w.u16(0);
        for (int i = 0; i < draft.size(); i++) w.i32(draft.token(i));
        if (draft.sampled()) {
            for (int i = 0; i < draft.size(); i++) {
                w.u8(draft.proposalSize(i));
                for (int j = 0; j < draft.proposalSize(i); j++) {
                    w.i32(draft.proposalToken(i, j));
                    w.i32(Float.floatToRawIntBits(draft.proposalProb(i, j)));
                }
            }
        }
        float[] row = new float[d];
        for (int t = 0; t < rows; t++) {
            System.arraycopy(hidden, t * d, row, 0, d);
            byte[] p = codec.encode(header.codec(), row, 1, d, channels, tables);
            w.i32(p.length);
            w.bytes(p, 0, p.length);
        }
        return w.toByteArray();
    }

    /** Draft-block flag: proposals follow the ids. */
    static final int DRAFT_PROPOSALS = 1;

    private Frame decodeDraft(byte[] bytes, int at, int length, FrameHeader header, OutlierChannels channels, FrameLimits limits,
                              CodecTables tables) throws FrameException, CorruptPayloadException {
        int rows = header.tokens(), d = header.dim();
        if (rows < 2 || rows - 1 > Draft.MAX_TOKENS) {
            throw new FrameException(FrameException.Reason.BAD_FIELD, "a DRAFT frame has 2.." + (Draft.MAX_TOKENS + 1)
                    + " rows (the last accepted token and 1.." + Draft.MAX_TOKENS + " drafts), got " + rows);
        }
        ByteReader in = new ByteReader(bytes, at, length);
        int k = in.u8("drafted tokens");
        int flags = in.u8("draft flags");
        int reserved = in.u16("draft reserved");
        if (k != rows - 1) {
            throw new FrameException(FrameException.Reason.BAD_FIELD, "a DRAFT frame of " + rows + " rows must carry " + (rows - 1)
                    + " drafted tokens, it carries " + k);
        }
        if ((flags & ~DRAFT_PROPOSALS) != 0 || reserved != 0) {
            throw new FrameException(FrameException.Reason.BAD_FIELD, "unknown draft flags 0x" + Integer.toHexString(flags));
        }
        int[] ids = new int[k]; // k <= MAX_TOKENS
        for (int i = 0; i < k; i++) ids[i] = in.i32("drafted token");
        int[][] pIds = null;
        float[][] pProbs = null;
        if ((flags & DRAFT_PROPOSALS) != 0) {
            pIds = new int[k][];
            pProbs = new float[k][];
            for (int i = 0; i < k; i++) {
                int n = in.u8("proposal size");
                if (n < 1 || n > Draft.MAX_PROPOSAL) {
                    throw new FrameException(FrameException.Reason.BAD_FIELD, "proposal " + i + " has " + n + " entries, allowed 1.."
                            + Draft.MAX_PROPOSAL);
                }
                pIds[i] = new int[n];
                pProbs[i] = new float[n];
                for (int j = 0; j < n; j++) {
                    pIds[i][j] = in.i32("proposal token");
                    pProbs[i][j] = Float.intBitsToFloat(in.i32("proposal probability"));
                }
            }
        }
        String why = Draft.check(ids, pIds, pProbs);
        if (why != null) throw new FrameException(FrameException.Reason.BAD_FIELD, why);
        Draft draft = pIds == null ? Draft.greedy(ids) : Draft.sampled(ids, pIds, pProbs);
        float[] hidden = new float[rows * d]; // bounded by the limits checked in the header
        float[] row = new float[d];
        for (int t = 0; t < rows; t++) {
            long n = in.u32("row payload length");
            int from = in.skip((int) Math.min(n, Integer.MAX_VALUE), "row payload");
            try {
                codec.decodeInto(header.codec(), bytes, from, (int) n, 1, d, channels, limits.maxFrameBytes(), row, tables);
            } catch (CorruptPayloadException e) {
                throw new FrameException(FrameException.Reason.BAD_PAYLOAD, "row " + t + ": " + e.getMessage());
            } catch (IllegalStateException e) {
                throw new FrameException(FrameException.Reason.UNSUPPORTED, e.getMessage());
            }
            System.arraycopy(row, 0, hidden, t * d, d);
        }
        if (in.position() != at + length) {
            throw new FrameException(FrameException.Reason.TRAILING_BYTES, (at + length - in.position()) + " bytes after the last row");
        }
        return new Frame(header, hidden, channels, false, draft);
    }

    /**
     * Frame bytes besides the payload: header, codec parameters, lengths, CRC, and the channel
     * list when the frame carries one ({@code carriedChannels} &lt; 0 for none).
     */
    public static int overheadBytes(int carriedChannels) {
        return MIN_FRAME_BYTES + (carriedChannels < 0 ? 0 : 2 + 2 * carriedChannels);
    }

    /** As {@link #overheadBytes(int)} for a frame of {@code spec}: 12 bytes more in version 2 (its longer codec block). */
    public static int overheadBytes(CodecSpec spec, int carriedChannels) {
        return overheadBytes(carriedChannels) + CodecParams.size(spec) - CodecParams.SIZE;
    }

    /**
     * Fixed bytes of a compact frame besides the payload: magic, version, flags, phase, the four
     * varints for these values, the CRC, and the channel list when it is carried ({@code
     * carriedChannels} &lt; 0 for none). A decode frame takes 15 bytes at a step and position below
     * 128, 17 in 128..16,383.
     */
    public static int compactOverheadBytes(long step, int splitLayer, int startPosition, int tokens, int carriedChannels) {
        return 4 + 3 + varintBytes(step) + varintBytes(splitLayer) + varintBytes(startPosition) + varintBytes(tokens) + 4
                + (carriedChannels < 0 ? 0 : 2 + 2 * carriedChannels);
    }

    /**
     * The full (version 1 or 2) frame with the same header values, channel list and payload as the
     * compact frame {@code bytes} of the session {@code context}, byte for byte what {@link #encode}
     * writes for it without {@code compact}; a frame of another version comes back as it is. An
     * edge replays its logged frames this way: the replica it reaches may not take compact frames.
     *
     * @throws FrameException when the compact frame is malformed or not the session's (checksum)
     */
    public static byte[] toFull(byte[] bytes, SessionContext context) throws FrameException {
        if (bytes.length < 5 || bytes[4] != COMPACT_VERSION || intAt(bytes, 0) != MAGIC) {
            return bytes;
        }
        try {
            CompactHead h = CompactHead.parse(bytes, context);
            int payloadAt = h.payloadAt, payloadLength = bytes.length - 4 - payloadAt;
            CodecSpec codec = context.codec();
            ByteWriter w = new ByteWriter(bytes.length + MIN_FRAME_BYTES + CodecParams.SIZE_V2);
            w.i32(MAGIC);
            w.u8(CodecParams.needsV2(codec) ? 2 : 1);
            w.u8(h.flags);
            w.u8(h.phase);
            w.u8(0);
            w.i64(context.sessionId());
            w.i64(h.step);
            w.u16(h.splitLayer);
            w.u16(CodecParams.size(codec));
            w.i32(h.startPosition);
            w.i32((int) h.tokens);
            w.i32(context.dim());
            CodecParams.write(codec, w);
            if (h.channelsAt >= 0) {
                w.u16(h.channelCount);
                w.bytes(bytes, h.channelsAt, 2 * h.channelCount);
            }
            w.i32(payloadLength);
            w.bytes(bytes, payloadAt, payloadLength);
            w.i32(Crc32c.compute(w.array(), 0, w.size()));
            return w.toByteArray();
        } catch (CorruptPayloadException e) {
            throw new FrameException(FrameException.Reason.TRUNCATED, e.getMessage());
        }
    }

    /**
     * What a compact frame's CRC covers before the frame's own bytes: the session tag (i64), d
     * (u32) and the codec's canonical string (UTF-8), the things the frame leaves out.
     */
    static byte[] sessionPrefix(long sessionId, int dim, CodecSpec codec) {
        byte[] c = codec.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteWriter w = new ByteWriter(12 + c.length);
        w.i64(sessionId);
        w.i32(dim);
        w.bytes(c, 0, c.length);
        return w.toByteArray();
    }

    /** CRC-32C of {@code prefix} followed by {@code bytes[0, length)}. */
    static int compactCrc(byte[] prefix, byte[] bytes, int length) {
        byte[] all = java.util.Arrays.copyOf(prefix, prefix.length + length);
        System.arraycopy(bytes, 0, all, prefix.length, length);
        return Crc32c.compute(all, 0, all.length);
    }

    /** Bytes of v as an unsigned LEB128 varint (v &gt;= 0). */
    static int varintBytes(long v) {
        int n = 1;
        while ((v >>>= 7) != 0) n++;
        return n;
    }

    /** Unsigned LEB128: seven bits per byte, low first, high bit set on every byte but the last. */
    private static void varint(ByteWriter w, long v) {
        while ((v & ~0x7fL) != 0) {
            w.u8((int) (v & 0x7f) | 0x80);
            v >>>= 7;
        }
        w.u8((int) v);
    }

    /** Reads a varint of at most 63 bits in its shortest form (no trailing zero group: one encoding per value). */
    private static long varint(ByteReader in, String what) throws FrameException, CorruptPayloadException {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            int b = in.u8(what);
            if (shift == 63 && b > 0) {
                throw new FrameException(FrameException.Reason.BAD_FIELD, what + " does not fit 63 bits");
            }
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                if (b == 0 && shift > 0) {
                    throw new FrameException(FrameException.Reason.BAD_FIELD, what + " is not in its shortest varint form");
                }
                return v;
            }
        }
    }

    private static int intAt(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24;
    }
}
