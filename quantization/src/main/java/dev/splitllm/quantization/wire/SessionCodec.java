package dev.splitllm.quantization.wire;

import dev.splitllm.quantization.codec.ActivationCodec;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CodecTables;
import dev.splitllm.quantization.codec.CorruptPayloadException;
import dev.splitllm.quantization.codec.OutlierChannels;

/**
 * One session's codec at the cut, with the state the codec keeps for a session: the outlier
 * channel set of {@code channels=session} specs, chosen by the edge from the prefill frame,
 * carried in that frame, and used for every later frame on both sides. The edge, the cloud and
 * the measurement path (eval, calibrate, profile) all go through this class, so they encode and
 * count exactly the same bytes.
 *
 * <ul>
 *   <li>edge: {@link #encodeFrame} (the first frame chooses and carries the set);</li>
 *   <li>cloud: {@link #decodeFrame}, then {@link #accept} once the step is committed
 *       (a failed step leaves the session's set as it was);</li>
 *   <li>measurement: {@link #roundTrip}, the payload encoded to bytes and decoded back, counting
 *       what the wire carries for it apart from the fixed frame header.</li>
 * </ul>
 *
 * Not thread-safe: one instance per session (codec scratch buffers are reused).
 */
public final class SessionCodec {
    private final CodecSpec spec;
    private final CodecTables tables;
    private final ActivationCodec codec = new ActivationCodec();
    private final FrameCodec frames = new FrameCodec();
    private OutlierChannels channels;
    /** Edge: the receiver takes compact frames, so this session sends them. */
    private boolean sendCompact;
    /** Cloud: the session compact frames are decoded for, or null to refuse them. */
    private FrameCodec.SessionContext receiveContext;

    /**
     * A session with {@code spec}; a {@code mean} or {@code ans} spec finds its calibrated tables
     * by the hash it names ({@link CodecTables#find}).
     *
     * @throws IllegalArgumentException when the spec names no tables or they cannot be found
     */
    public SessionCodec(CodecSpec spec) {
        this(spec, spec == null || !spec.needsTables() ? null : tablesFor(spec));
    }

    /** A session with {@code spec} and the calibrated {@code tables} it names (null when it needs none). */
    public SessionCodec(CodecSpec spec, CodecTables tables) {
        if (spec == null) {
            throw new IllegalArgumentException("codec spec is missing");
        }
        if (spec.needsTables()) {
            if (tables == null || tables.hash() != spec.tablesHash()) {
                throw new IllegalArgumentException("codec " + spec + " needs the codec tables it names");
            }
        }
        this.spec = spec;
        this.tables = spec.needsTables() ? tables : null;
    }

    private static CodecTables tablesFor(CodecSpec spec) {
        if (spec.tablesHash() == 0) {
            throw new IllegalArgumentException("codec " + spec + " uses mean or ans and must name its calibrated tables (tables=HEX16)");
        }
        return CodecTables.find(spec.tablesHash());
    }

    /**
     * Edge: send compact (version-3) frames from now on; only when the server's session-created
     * answer says it takes them. Returns this.
     */
    public SessionCodec sendCompactFrames(boolean compact) {
        this.sendCompact = compact;
        return this;
    }

    /** True when this session sends compact frames. */
    public boolean sendsCompactFrames() {
        return sendCompact;
    }

    /**
     * Cloud: accept compact frames for the session with frame tag {@code sessionTag} and hidden
     * width {@code dim} (the codec is this session's). Returns this.
     */
    public SessionCodec receiveCompactFrames(long sessionTag, int dim) {
        this.receiveContext = new FrameCodec.SessionContext(sessionTag, dim, spec);
        return this;
    }

    /** The session's calibrated codec tables, or null. */
    public CodecTables tables() {
        return tables;
    }

    public CodecSpec spec() {
        return spec;
    }

    /** The session's outlier channel set, or null before the first frame (or when the spec has none). */
    public OutlierChannels channels() {
        return channels;
    }

    /** Bytes the channel announcement adds to a frame: u16 count + u16 per channel. */
    public static long announcementBytes(OutlierChannels set) {
        return set == null ? 0 : 2 + 2L * set.size();
    }

    /**
     * Edge: encodes {@code header.tokens() x header.dim()} rows of {@code hidden} as one frame. In
     * session-channel mode the first frame chooses the set from its own rows and carries it.
     */
    public byte[] encodeFrame(FrameHeader header, float[] hidden) {
        if (!spec.equals(header.codec())) {
            throw new IllegalArgumentException("frame codec " + header.codec() + " != session's " + spec);
        }
        boolean announce = chooseChannels(hidden, header.tokens(), header.dim());
        return frames.encode(header, hidden, channels, announce, tables, null, sendCompact);
    }

    /**
     * Edge: encodes a DRAFT frame: {@code header.tokens()} rows (the last accepted token's, then one
     * per drafted token) and the {@code draft}; each row is encoded exactly as a DECODE frame would.
     * Drafts follow the prefill, which has already chosen and carried the channel set.
     */
    public byte[] encodeDraftFrame(FrameHeader header, float[] hidden, Draft draft) {
        if (!spec.equals(header.codec())) {
            throw new IllegalArgumentException("frame codec " + header.codec() + " != session's " + spec);
        }
        if (spec.sessionChannels() && channels == null) {
            throw new IllegalStateException("a DRAFT frame follows the prefill, which chooses the session's channels");
        }
        return frames.encode(header, hidden, channels, false, tables, draft, sendCompact);
    }

    /**
     * Cloud: decodes and validates a frame against the session's channel set. The set a frame
     * carries takes effect only through {@link #accept}, after the step succeeded.
     */
    public Frame decodeFrame(byte[] bytes, FrameLimits limits) throws FrameException {
        return frames.decode(bytes, limits, channels, tables, receiveContext);
    }

    /** Cloud: the step of {@code frame} was committed; adopt the channel set it carried, if any. */
    public void accept(Frame frame) {
        if (frame.channelsInFrame()) {
            channels = frame.channels();
        }
    }

    /**
     * Measurement: what the cloud reconstructs from {@code tokens x dim} rows sent as one frame.
     * The payload is really encoded to bytes and decoded from them; {@code counter} receives the
     * bytes the wire carries for it (payload, plus the channel announcement on the frame that
     * carries it; the fixed frame header is not included, see {@link FrameCodec#overheadBytes}).
     */
    public float[] roundTrip(float[] x, int tokens, int dim, ByteCounter counter) {
        boolean announce = chooseChannels(x, tokens, dim);
        byte[] payload = codec.encode(spec, x, tokens, dim, channels, tables);
        counter.add(payload.length + (announce ? announcementBytes(channels) : 0));
        try {
            return codec.decode(spec, payload, tokens, dim, channels, tables);
        } catch (CorruptPayloadException e) {
            throw new IllegalStateException("the codec could not decode its own payload for " + spec + ": " + e.getMessage(), e);
        }
    }

    /** Where {@link #roundTrip} reports the bytes of each frame. */
    public interface ByteCounter {
        ByteCounter NONE = bytes -> { };

        void add(long bytes);
    }

    /** Chooses the session's channel set from the first frame's rows; true when this frame must carry it. */
    private boolean chooseChannels(float[] x, int tokens, int dim) {
        if (!spec.sessionChannels() || channels != null) {
            return false;
        }
        channels = OutlierChannels.select(x, tokens, dim, spec.tau());
        return true;
    }
}
