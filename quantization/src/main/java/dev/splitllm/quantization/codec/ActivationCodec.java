package dev.splitllm.quantization.codec;

import dev.splitllm.quantization.Half;

/**
 * Encodes a T×d row-major block of activations into a payload and back, as a {@link CodecSpec}
 * says. The payload is the concatenation of T token records, each starting on a byte boundary so
 * tokens decode independently; with zstd on, it is {@code u32 rawLength} followed by one zstd frame
 * of those records. Record layouts (all little-endian; docs/WIRE.md has them byte by byte):
 * <ul>
 *   <li>FP32: d × f32. FP16: d × fp16.</li>
 *   <li>Q8_0: ceil(d/32) blocks of (fp16 scale, up to 32 × i8).</li>
 *   <li>UNIFORM and TABQ: u8 bits, fp16 scale, u8 zero point, ceil(d·bits/8) bytes of LSB-first
 *       codes; then, when TS is on, u16 outlier count and that many (u16 channel, fp16 value) pairs
 *       with ascending channels; then, in session-channel mode, one fp16 per session channel.</li>
 * </ul>
 * Stage order on encode: threshold split, rotation, quantization, packing, zstd; decode runs them
 * backwards, so outliers and session channels overwrite the rotated-back reconstruction.
 *
 * <p>Input must be finite: encoding rejects NaN and infinities (also in FP32 mode, which is then
 * bit-exact for every finite value including -0 and subnormals), and decoding rejects payloads that
 * would produce them. An instance keeps scratch buffers between calls and is not thread-safe; use
 * one per thread.
 */
public final class ActivationCodec {
    /** Largest row width: outlier channel indices and counts travel as u16. */
    public static final int MAX_DIM = 0xffff;

    private final TokenQuantizer quantizer = new TokenQuantizer();
    private final ThresholdSplit split = new ThresholdSplit();
    private final ByteWriter raw = new ByteWriter(1 << 12);
    private final float[] lut = new float[256];
    private float[] row = new float[0];
    /** Rotation of the current call, or null. */
    private HadamardRotation rotation;
    private HadamardRotation cachedRotation;
    private long cachedRotationSeed;
    /** Session-channel membership of the current call, or null. */
    private boolean[] mask;
    private boolean[] cachedMask;
    private OutlierChannels maskedChannels;
    private final int[] bitHistogram = new int[33];
    /** ||x||² of the current row when the budget is relative to the whole token (mean on), else -1. */
    private double rowNorm = -1;
    /** Group-wise quantizer of the current group size, or null. */
    private GroupQuantizer groupQuantizer;
    private final StepQuantizer stepQuantizer = new StepQuantizer();
    /** Codec tables of the current call (mean, rANS), or null. */
    private CodecTables tables;
    private float[] centered = new float[0];
    private byte[] symbols = new byte[0];
    private byte[] ransScratch = new byte[0];
    /** Calibration hook: code histograms per bit-width, or null (see {@link CodecTables#calibrate}). */
    private long[][] symbolCounts;

    /** Calibration only: count every token's codes (as rANS would code them) into {@code counts[bits]}. */
    void countSymbols(long[][] counts) {
        this.symbolCounts = counts;
    }

    /** Encodes {@code x[0, tokens*dim)}; for specs without session channels. */
    public byte[] encode(CodecSpec spec, float[] x, int tokens, int dim) {
        return encode(spec, x, tokens, dim, null);
    }

    /**
     * Encodes {@code x[0, tokens*dim)} (row-major, token t at {@code x[t*dim]}).
     *
     * @param channels the session outlier channels (required exactly when the spec is in
     *                 session-channel mode, else must be null)
     * @throws IllegalArgumentException on bad shapes, non-finite input or a value range fp16 cannot hold
     */
    public byte[] encode(CodecSpec spec, float[] x, int tokens, int dim, OutlierChannels channels) {
        return encode(spec, x, tokens, dim, channels, null);
    }

    /**
     * As {@link #encode(CodecSpec, float[], int, int, OutlierChannels)}, with the calibrated
     * {@code tables} a {@code mean} or {@code ans} spec needs (else null).
     */
    public byte[] encode(CodecSpec spec, float[] x, int tokens, int dim, OutlierChannels channels, CodecTables tables) {
        checkShape(spec, tokens, dim, channels);
        checkTables(spec, dim, tables);
        if ((long) tokens * dim > x.length) {
            throw new IllegalArgumentException("activations hold " + x.length + " values, need " + tokens + "x" + dim);
        }
        java.util.Arrays.fill(bitHistogram, 0);
        raw.reset();
        prepareScratch(spec, dim, channels);
        for (int t = 0; t < tokens; t++) {
            int offset = t * dim;
            switch (spec.kind()) {
                case FP32: encodeFp32(x, offset, dim, t); break;
                case FP16: encodeFp16(x, offset, dim, t); break;
                case Q8_0: encodeQ8(x, offset, dim, t); break;
                default: encodeMinMax(spec, x, offset, dim, t, channels); break;
            }
        }
        if (!spec.zstdFor(tokens)) {
            return raw.toByteArray();
        }
        byte[] compressed = ZstdStage.compress(raw.array(), raw.size());
        byte[] out = new byte[4 + compressed.length];
        ByteWriter.putInt(out, 0, raw.size());
        System.arraycopy(compressed, 0, out, 4, compressed.length);
        return out;
    }

    /**
     * How many tokens of the last {@link #encode} call got each bit-width (index = bits, 32 for
     * FP32, 16 for FP16, 8 for Q8_0). A copy.
     */
    public int[] lastBitHistogram() {
        return bitHistogram.clone();
    }

    /** Decodes a whole payload array; see {@link #decode(CodecSpec, byte[], int, int, int, int, OutlierChannels)}. */
    public float[] decode(CodecSpec spec, byte[] payload, int tokens, int dim, OutlierChannels channels) throws CorruptPayloadException {
        return decode(spec, payload, 0, payload.length, tokens, dim, channels);
    }

    /**
     * Decodes {@code payload[offset, offset + length)} into a new {@code float[tokens*dim]}. Every
     * size is checked against the payload before anything proportional to it is allocated, and the
     * payload must be consumed exactly.
     *
     * @throws CorruptPayloadException when the payload does not follow the layout for this spec and shape
     * @throws IllegalArgumentException when the arguments themselves are inconsistent (caller's bug)
     */
    public float[] decode(CodecSpec spec, byte[] payload, int offset, int length, int tokens, int dim,
                          OutlierChannels channels) throws CorruptPayloadException {
        return decode(spec, payload, offset, length, tokens, dim, channels, ByteWriter.MAX_CAPACITY);
    }

    /**
     * As {@link #decode(CodecSpec, byte[], int, int, int, int, OutlierChannels)}, with the size the
     * token records may take after zstd decompression capped at {@code maxRawBytes} (a frame
     * decoder passes its frame-size limit, so compression never admits more than a plain frame).
     */
    public float[] decode(CodecSpec spec, byte[] payload, int offset, int length, int tokens, int dim,
                          OutlierChannels channels, long maxRawBytes) throws CorruptPayloadException {
        return decodeInto(spec, payload, offset, length, tokens, dim, channels, maxRawBytes, null);
    }

    /** Decodes a whole payload array with the calibrated {@code tables} (null when the spec needs none). */
    public float[] decode(CodecSpec spec, byte[] payload, int tokens, int dim, OutlierChannels channels, CodecTables tables)
            throws CorruptPayloadException {
        return decodeInto(spec, payload, 0, payload.length, tokens, dim, channels, ByteWriter.MAX_CAPACITY, null, tables);
    }

    /**
     * As {@link #decode(CodecSpec, byte[], int, int, int, int, OutlierChannels, long)}, writing into
     * {@code out[0, tokens*dim)} when {@code out} is not null (a receiver's reusable hidden-state
     * buffer; large prefill blocks then cost no allocation). On failure {@code out} may hold part of
     * the frame.
     *
     * @return {@code out}, or a new array when out is null
     */
    public float[] decodeInto(CodecSpec spec, byte[] payload, int offset, int length, int tokens, int dim,
                              OutlierChannels channels, long maxRawBytes, float[] out) throws CorruptPayloadException {
        return decodeInto(spec, payload, offset, length, tokens, dim, channels, maxRawBytes, out, null);
    }

    /**
     * As {@link #decodeInto(CodecSpec, byte[], int, int, int, int, OutlierChannels, long, float[])},
     * with the calibrated {@code tables} a {@code mean} or {@code ans} spec needs (else null).
     */
    public float[] decodeInto(CodecSpec spec, byte[] payload, int offset, int length, int tokens, int dim,
                              OutlierChannels channels, long maxRawBytes, float[] out, CodecTables tables)
            throws CorruptPayloadException {
        checkShape(spec, tokens, dim, channels);
        checkTables(spec, dim, tables);
        if (out != null && out.length < tokens * dim) {
            throw new IllegalArgumentException("output holds " + out.length + " values, need " + tokens + "x" + dim);
        }
        int sessionCount = channels == null ? 0 : channels.size();
        long minRaw = tokens * minTokenBytes(spec, dim, sessionCount);
        long maxRaw = tokens * maxTokenBytes(spec, dim, sessionCount);
        ByteReader in;
        if (spec.zstdFor(tokens)) {
            ByteReader header = new ByteReader(payload, offset, length);
            long rawLength = header.u32("zstd raw length");
            if (rawLength < minRaw || rawLength > maxRaw) {
                throw new CorruptPayloadException("zstd raw length " + rawLength + " outside " + minRaw + ".." + maxRaw
                        + " for " + tokens + "x" + dim + " " + spec);
            }
            if (rawLength > maxRawBytes || rawLength > ByteWriter.MAX_CAPACITY) {
                throw new CorruptPayloadException("zstd raw length " + rawLength + " above the limit of " + maxRawBytes + " bytes");
            }
            byte[] decompressed = ZstdStage.decompress(payload, offset + 4, length - 4, (int) rawLength);
            in = new ByteReader(decompressed, 0, decompressed.length);
        } else {
            if (length < minRaw || length > maxRaw) {
                throw new CorruptPayloadException("payload of " + length + " bytes outside " + minRaw + ".." + maxRaw
                        + " for " + tokens + "x" + dim + " " + spec);
            }
            in = new ByteReader(payload, offset, length);
        }
        // tokens*dim fits an int (checkShape) and the payload holds at least minTokenBytes per token.
        if (out == null) {
            out = new float[tokens * dim];
        }
        prepareScratch(spec, dim, channels);
        for (int t = 0; t < tokens; t++) {
            int rowOffset = t * dim;
            switch (spec.kind()) {
                case FP32: decodeFp32(in, dim, out, rowOffset); break;
                case FP16: decodeFp16(in, dim, out, rowOffset); break;
                case Q8_0:
                    Q8Rows.decode(in, dim, out, rowOffset);
                    if (spec.rotation()) {
                        rotation.inverse(out, rowOffset);
                    }
                    break;
                default: decodeMinMax(spec, in, dim, out, rowOffset, channels); break;
            }
        }
        if (in.remaining() != 0) {
            throw new CorruptPayloadException(in.remaining() + " trailing bytes after " + tokens + " tokens");
        }
        return out;
    }

    /** Payload bits per activation, side information included. */
    public static double bitsPerElement(long payloadBytes, int tokens, int dim) {
        if (tokens < 1 || dim < 1) {
            throw new IllegalArgumentException("tokens and dim must be >= 1");
        }
        return 8.0 * payloadBytes / ((double) tokens * dim);
    }

    /** Largest record one token can take under {@code spec} (before zstd). */
    public static long maxTokenBytes(CodecSpec spec, int dim, int sessionChannels) {
        switch (spec.kind()) {
            case FP32: return 4L * dim;
            case FP16: return 2L * dim;
            case Q8_0: return Q8Rows.rowBytes(dim);
            default:
                return sideBytes(spec, dim) + (spec.ans() ? RansTable.STATE_BYTES + 2L * dim : BitPacker.packedBytes(dim, spec.maxBits()))
                        + (spec.thresholdSplit() ? 2 + 4L * dim : 0) + 2L * sessionChannels;
        }
    }

    /** Bytes of a TAB-Q / UNIFORM record before the codes: u8 bits, then fp16 scale + u8 zero, or fp16 base + u8 per group. */
    static long sideBytes(CodecSpec spec, int dim) {
        if (spec.step()) {
            return 1;
        }
        return spec.group() == 0 ? 4 : 3 + GroupQuantizer.groups(dim, spec.group());
    }

    /** Smallest record one token can take under {@code spec} (before zstd). */
    public static long minTokenBytes(CodecSpec spec, int dim, int sessionChannels) {
        switch (spec.kind()) {
            case FP32: case FP16: case Q8_0: return maxTokenBytes(spec, dim, sessionChannels);
            default:
                return sideBytes(spec, dim) + (spec.ans() ? RansTable.STATE_BYTES : BitPacker.packedBytes(dim, spec.minBits()))
                        + (spec.thresholdSplit() ? 2 : 0) + 2L * sessionChannels;
        }
    }

    private static void checkShape(CodecSpec spec, int tokens, int dim, OutlierChannels channels) {
        if (tokens < 1 || dim < 1 || dim > MAX_DIM) {
            throw new IllegalArgumentException("need tokens >= 1 and 1 <= dim <= " + MAX_DIM + ", got " + tokens + "x" + dim);
        }
        if ((long) tokens * dim > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(tokens + "x" + dim + " activations do not fit one array");
        }
        if (spec.sessionChannels() != (channels != null)) {
            throw new IllegalArgumentException(spec.sessionChannels()
                    ? "spec " + spec + " needs the session's outlier channels" : "outlier channels given but spec " + spec + " has no session channels");
        }
        if (channels != null && !channels.fits(dim)) {
            throw new IllegalArgumentException(channels + " does not fit dim " + dim);
        }
    }

    private void checkTables(CodecSpec spec, int dim, CodecTables tables) {
        if (spec.needsTables()) {
            if (tables == null) {
                throw new IllegalArgumentException("spec " + spec + " needs its codec tables");
            }
            if (spec.mean() && !tables.hasMean()) {
                throw new IllegalArgumentException(tables + " hold no mean for " + spec);
            }
            if (tables.dim() != dim) {
                throw new IllegalArgumentException(tables + " do not fit dim " + dim);
            }
            if (spec.ans()) {
                for (int w : spec.bitWidths()) {
                    if (tables.table(w) == null) {
                        throw new IllegalArgumentException(tables + " hold no rANS table for " + w + " bits");
                    }
                }
            }
        }
        this.tables = spec.needsTables() ? tables : null;
    }

    /** Sizes the scratch row and points {@link #rotation} and {@link #mask} at this call's stages (or null). */
    private void prepareScratch(CodecSpec spec, int dim, OutlierChannels channels) {
        if (row.length < dim) {
            row = new float[dim];
            centered = new float[dim];
            symbols = new byte[dim];
            ransScratch = new byte[RansTable.STATE_BYTES + 2 * dim];
        }
        if (spec.group() != 0 && (groupQuantizer == null || groupQuantizer.group() != spec.group())) {
            groupQuantizer = new GroupQuantizer(spec.group());
        }
        if (spec.rotation()) {
            if (cachedRotation == null || cachedRotation.dim() != dim || cachedRotationSeed != spec.rotationSeed()) {
                cachedRotation = new HadamardRotation(dim, spec.rotationSeed());
                cachedRotationSeed = spec.rotationSeed();
            }
            rotation = cachedRotation;
        } else {
            rotation = null;
        }
        if (channels == null) {
            mask = null;
        } else {
            if (cachedMask == null || cachedMask.length != dim || !channels.equals(maskedChannels)) {
                cachedMask = channels.mask(dim);
                maskedChannels = channels;
            }
            mask = cachedMask;
        }
    }

    private void encodeFp32(float[] x, int offset, int dim, int t) {
        int at = raw.reserve(4L * dim);
        byte[] dst = raw.array();
        for (int c = 0; c < dim; c++) {
            float v = x[offset + c];
            if (!Float.isFinite(v)) {
                throw nonFinite(v, t, c);
            }
            ByteWriter.putInt(dst, at + 4 * c, Float.floatToRawIntBits(v));
        }
        bitHistogram[32]++;
    }

    private void encodeFp16(float[] x, int offset, int dim, int t) {
        int at = raw.reserve(2L * dim);
        byte[] dst = raw.array();
        for (int c = 0; c < dim; c++) {
            float v = x[offset + c];
            short h = Half.fromFloat(v);
            if (!ScaleMath.finiteHalf(h)) {
                throw Float.isFinite(v) ? new IllegalArgumentException("activation " + v + " at token " + t
                        + ", channel " + c + " overflows fp16") : nonFinite(v, t, c);
            }
            dst[at + 2 * c] = (byte) h;
            dst[at + 2 * c + 1] = (byte) (h >>> 8);
        }
        bitHistogram[16]++;
    }

    private void encodeQ8(float[] x, int offset, int dim, int t) {
        float[] r = row;
        System.arraycopy(x, offset, r, 0, dim);
        requireFinite(r, dim, t);
        if (rotation != null) {
            rotation.forward(r, 0);
        }
        int at = raw.reserve(Q8Rows.rowBytes(dim));
        Q8Rows.encode(r, dim, raw.array(), at);
        bitHistogram[8]++;
    }

    private void encodeMinMax(CodecSpec spec, float[] x, int offset, int dim, int t, OutlierChannels channels) {
        float[] r = row;
        float[] src = x;
        int at0 = offset;
        rowNorm = -1;
        if (spec.mean()) { // everything after this works on x - mean
            float[] m = tables.meanArray();
            double norm = 0;
            for (int c = 0; c < dim; c++) {
                float v = x[offset + c];
                centered[c] = v - m[c];
                norm += v * (double) v;
            }
            src = centered;
            at0 = 0;
            // The mean is exact on both sides, so eps bounds the error relative to the whole token,
            // not to the (much smaller) remainder; else removing the mean would cost bits.
            rowNorm = norm;
        }
        if (spec.thresholdSplit()) {
            split.split(src, at0, dim, spec.tau(), mask, r);
        } else {
            System.arraycopy(src, at0, r, 0, dim);
        }
        if (spec.group() != 0) {
            encodeGrouped(spec, x, offset, src, at0, dim, t, channels);
            return;
        }
        if (spec.step()) {
            encodeStep(spec, x, offset, src, at0, dim, t, channels);
            return;
        }
        boolean finite;
        if (rotation != null) {
            rotation.forward(r, 0);
            finite = quantizer.analyse(r, dim);
        } else if (spec.thresholdSplit() && split.shareStats(quantizer)) {
            finite = true;
        } else {
            finite = quantizer.analyse(r, dim);
        }
        if (!finite) {
            requireFinite(x, offset, dim, t);
        }
        int bits;
        if (spec.kind() == CodecKind.UNIFORM) {
            bits = spec.uniformBits();
            quantizer.quantize(r, dim, bits, Double.POSITIVE_INFINITY);
        } else {
            bits = chooseBits(spec, r, dim);
        }
        bitHistogram[bits]++;
        long codeBytes = spec.ans() ? 0 : BitPacker.packedBytes(dim, bits);
        int at = raw.reserve(4 + codeBytes);
        byte[] dst = raw.array();
        short scale = quantizer.scaleHalf();
        dst[at] = (byte) bits;
        dst[at + 1] = (byte) scale;
        dst[at + 2] = (byte) (scale >>> 8);
        dst[at + 3] = (byte) quantizer.zero();
        writeCodes(spec, quantizer.codes(), quantizer.zero(), dim, bits, at + 4);
        writeTail(spec, src, at0, t, channels);
    }

    /** TAB-Q with group-wise scales: u8 bits, fp16 base scale, u8 per group, codes, then the TS and session parts. */
    private void encodeGrouped(CodecSpec spec, float[] x, int offset, float[] src, int at0, int dim, int t,
                               OutlierChannels channels) {
        float[] r = row;
        GroupQuantizer g = groupQuantizer;
        if (rotation != null) {
            rotation.forward(r, 0);
        }
        if (!g.analyse(r, dim)) {
            requireFinite(x, offset, dim, t);
            requireFinite(r, dim, t); // x finite but x - mean overflowed
        }
        double budget = spec.epsilon() * (rowNorm >= 0 ? rowNorm : g.sumSquares());
        int largest = spec.maxBits();
        int bits = largest;
        for (int b = 2; b < largest; b++) {
            if ((spec.bitMask() & (1 << (b - 1))) != 0 && g.quantize(r, dim, b, budget)) {
                bits = b;
                break;
            }
        }
        if (bits == largest) {
            g.quantize(r, dim, largest, Double.POSITIVE_INFINITY);
        }
        bitHistogram[bits]++;
        int groups = GroupQuantizer.groups(dim, spec.group());
        int at = raw.reserve(3 + groups);
        byte[] dst = raw.array();
        short scale = g.scaleHalf();
        dst[at] = (byte) bits;
        dst[at + 1] = (byte) scale;
        dst[at + 2] = (byte) (scale >>> 8);
        System.arraycopy(g.groupCodes(), 0, dst, at + 3, groups);
        int codesAt = raw.reserve(spec.ans() ? 0 : BitPacker.packedBytes(dim, bits));
        writeCodes(spec, g.codes(), (1 << (bits - 1)) - 1, dim, bits, codesAt);
        writeTail(spec, src, at0, t, channels);
    }

    /** Step mode: u8 step index, the rANS stream of the signed codes, then the TS and session parts. */
    private void encodeStep(CodecSpec spec, float[] x, int offset, float[] src, int at0, int dim, int t,
                            OutlierChannels channels) {
        float[] r = row;
        StepQuantizer q = stepQuantizer;
        if (rotation != null) {
            rotation.forward(r, 0);
        }
        if (!q.analyse(r, dim)) {
            requireFinite(x, offset, dim, t);
            requireFinite(r, dim, t);
        }
        q.quantize(r, dim, spec.epsilon() * (rowNorm >= 0 ? rowNorm : q.sumSquares()));
        bitHistogram[8]++;
        raw.u8(q.stepIndex());
        byte[] sym = q.symbols();
        if (symbolCounts != null) {
            long[] c = symbolCounts[8];
            for (int i = 0; i < dim; i++) {
                c[sym[i] & 0xff]++;
            }
        }
        int start = raw.reserve(RansTable.STATE_BYTES + 2L * dim);
        int n = tables.table(8).encode(sym, dim, ransScratch, raw.array(), start);
        raw.truncate(start + n);
        writeTail(spec, src, at0, t, channels);
    }

    /**
     * Writes the codes at {@code at} (space already reserved when packed): bit-packed, or as a rANS
     * stream of the symbols {@code (q - center) mod 2^bits} (appended; {@code at} must be the end).
     */
    private void writeCodes(CodecSpec spec, byte[] codes, int center, int dim, int bits, int at) {
        int mask = (1 << bits) - 1;
        if (spec.ans() || symbolCounts != null) {
            byte[] sym = symbols;
            for (int i = 0; i < dim; i++) {
                sym[i] = (byte) ((codes[i] - center) & mask);
            }
            if (symbolCounts != null) {
                long[] c = symbolCounts[bits];
                for (int i = 0; i < dim; i++) {
                    c[sym[i] & 0xff]++;
                }
            }
        }
        if (spec.ans()) {
            int start = raw.reserve(RansTable.STATE_BYTES + 2L * dim);
            int n = tables.table(bits).encode(symbols, dim, ransScratch, raw.array(), start);
            raw.truncate(start + n);
        } else {
            BitPacker.pack(codes, dim, bits, raw.array(), at);
        }
    }

    /** The TS outliers and the session-channel values of a min-max record (of the mean-removed row). */
    private void writeTail(CodecSpec spec, float[] src, int at0, int t, OutlierChannels channels) {
        byte[] dst;
        if (spec.thresholdSplit()) {
            int n = split.count();
            raw.u16(n);
            int p = raw.reserve(4L * n);
            dst = raw.array();
            for (int i = 0; i < n; i++) {
                int c = split.channel(i);
                short h = split.value(i);
                dst[p] = (byte) c;
                dst[p + 1] = (byte) (c >>> 8);
                dst[p + 2] = (byte) h;
                dst[p + 3] = (byte) (h >>> 8);
                p += 4;
            }
        }
        if (channels != null) {
            for (int i = 0; i < channels.size(); i++) {
                float v = src[at0 + channels.channel(i)];
                short h = Half.fromFloat(v);
                if (!ScaleMath.finiteHalf(h)) {
                    throw new IllegalArgumentException("session channel " + channels.channel(i) + " value " + v
                            + " at token " + t + " is outside the fp16 range");
                }
                raw.u16(h);
            }
        }
    }

    /** TAB-Q: the smallest width whose relative MSE meets eps; the largest width when none does. */
    private int chooseBits(CodecSpec spec, float[] r, int dim) {
        double budget = spec.epsilon() * (rowNorm >= 0 ? rowNorm : quantizer.sumSquares());
        int mask = spec.bitMask();
        int largest = spec.maxBits();
        for (int b = 1; b < largest; b++) {
            if ((mask & (1 << (b - 1))) != 0 && quantizer.quantize(r, dim, b, budget)) {
                return b;
            }
        }
        quantizer.quantize(r, dim, largest, Double.POSITIVE_INFINITY);
        return largest;
    }

    private static void decodeFp32(ByteReader in, int dim, float[] out, int rowOffset) throws CorruptPayloadException {
        int at = in.skip(4 * dim, "fp32 row");
        byte[] src = in.array();
        for (int c = 0; c < dim; c++) {
            float v = Float.intBitsToFloat(ByteReader.getInt(src, at + 4 * c));
            if (!Float.isFinite(v)) {
                throw new CorruptPayloadException("fp32 value at channel " + c + " is not finite");
            }
            out[rowOffset + c] = v;
        }
    }

    private static void decodeFp16(ByteReader in, int dim, float[] out, int rowOffset) throws CorruptPayloadException {
        int at = in.skip(2 * dim, "fp16 row");
        byte[] src = in.array();
        for (int c = 0; c < dim; c++) {
            int h = (src[at + 2 * c] & 0xff) | (src[at + 2 * c + 1] & 0xff) << 8;
            if (!ScaleMath.finiteHalf(h)) {
                throw new CorruptPayloadException("fp16 value at channel " + c + " is not finite");
            }
            out[rowOffset + c] = Half.toFloat((short) h);
        }
    }

    private void decodeMinMax(CodecSpec spec, ByteReader in, int dim, float[] out, int rowOffset,
                              OutlierChannels channels) throws CorruptPayloadException {
        int bits = in.u8("bit-width");
        if (!spec.step() && !spec.allowsBits(bits)) {
            throw new CorruptPayloadException("bit-width " + bits + " not allowed by " + spec);
        }
        if (spec.step()) {
            readAns(in, dim, 8);
            float step = StepQuantizer.step(bits); // the first byte is the step index
            byte[] sy = symbols;
            for (int c = 0; c < dim; c++) {
                out[rowOffset + c] = step * ((sy[c] & 0xff) - 128);
            }
        } else if (spec.group() != 0) {
            decodeGrouped(spec, in, dim, bits, out, rowOffset);
        } else if (spec.ans()) {
            decodePlainAns(in, dim, bits, out, rowOffset);
        } else {
            decodePlainPacked(in, dim, bits, out, rowOffset);
        }
        if (rotation != null) {
            rotation.inverse(out, rowOffset);
        }
        decodeTail(spec, in, dim, out, rowOffset, channels);
        if (spec.mean()) {
            float[] m = tables.meanArray();
            for (int c = 0; c < dim; c++) {
                out[rowOffset + c] += m[c];
            }
        }
    }

    /** Reads a rANS stream of {@code dim} symbols into {@link #symbols}. */
    private void readAns(ByteReader in, int dim, int bits) throws CorruptPayloadException {
        int start = in.position();
        int n = tables.table(bits).decode(in.array(), start, start + in.remaining(), symbols, dim);
        if (n < 0) {
            throw new CorruptPayloadException("rANS stream of " + bits + "-bit codes is corrupt");
        }
        in.skip(n, "rANS stream");
    }

    private void decodePlainAns(ByteReader in, int dim, int bits, float[] out, int rowOffset) throws CorruptPayloadException {
        int scaleHalf = in.u16("scale");
        if (!ScaleMath.validScale(scaleHalf)) {
            throw new CorruptPayloadException("scale 0x" + Integer.toHexString(scaleHalf) + " is negative or not finite");
        }
        int zero = in.u8("zero point");
        if (zero >= 1 << bits) {
            throw new CorruptPayloadException("zero point " + zero + " does not fit " + bits + " bits");
        }
        readAns(in, dim, bits);
        float scale = Half.toFloat((short) scaleHalf);
        int mask = (1 << bits) - 1;
        for (int sym = 0; sym <= mask; sym++) { // symbol = (q - z) mod 2^b
            lut[sym] = scale * (((sym + zero) & mask) - zero);
        }
        byte[] sy = symbols;
        for (int c = 0; c < dim; c++) {
            out[rowOffset + c] = lut[sy[c] & 0xff];
        }
    }

    private void decodeGrouped(CodecSpec spec, ByteReader in, int dim, int bits, float[] out, int rowOffset)
            throws CorruptPayloadException {
        int scaleHalf = in.u16("base scale");
        if (!ScaleMath.validScale(scaleHalf)) {
            throw new CorruptPayloadException("base scale 0x" + Integer.toHexString(scaleHalf) + " is negative or not finite");
        }
        int group = spec.group();
        int groups = GroupQuantizer.groups(dim, group);
        int kAt = in.skip(groups, "group scales");
        int half = (1 << (bits - 1)) - 1;
        int mask = (1 << bits) - 1;
        // lut: the signed level q - H of each symbol (ans) or code (packed); the group scale multiplies it.
        if (spec.ans()) {
            readAns(in, dim, bits);
            for (int sym = 0; sym <= mask; sym++) {
                lut[sym] = ((sym + half) & mask) - half;
            }
            byte[] sy = symbols;
            for (int c = 0; c < dim; c++) {
                out[rowOffset + c] = lut[sy[c] & 0xff];
            }
        } else {
            for (int q = 0; q <= mask; q++) {
                lut[q] = q - half;
            }
            int at = in.skip((int) BitPacker.packedBytes(dim, bits), "codes");
            if (!BitPacker.unpackLookup(in.array(), at, dim, bits, lut, out, rowOffset)) {
                throw new CorruptPayloadException("padding bits after the last code are not zero");
            }
        }
        float base = Half.toFloat((short) scaleHalf);
        byte[] src = in.array();
        for (int g = 0; g < groups; g++) {
            float s = GroupQuantizer.groupScale(base, src[kAt + g] & 0xff);
            int end = Math.min(dim, (g + 1) * group);
            for (int c = g * group; c < end; c++) {
                out[rowOffset + c] *= s;
            }
        }
    }

    private void decodePlainPacked(ByteReader in, int dim, int bits, float[] out, int rowOffset) throws CorruptPayloadException {
        int scaleHalf = in.u16("scale");
        if (!ScaleMath.validScale(scaleHalf)) {
            throw new CorruptPayloadException("scale 0x" + Integer.toHexString(scaleHalf) + " is negative or not finite");
        }
        int zero = in.u8("zero point");
        if (zero >= 1 << bits) {
            throw new CorruptPayloadException("zero point " + zero + " does not fit " + bits + " bits");
        }
        float scale = Half.toFloat((short) scaleHalf);
        int codeBytes = (int) BitPacker.packedBytes(dim, bits);
        int at = in.skip(codeBytes, "codes");
        if (bits == 8) {
            // One byte per code, no padding; a 256-entry table would cost as much as the row.
            byte[] src = in.array();
            for (int c = 0; c < dim; c++) {
                out[rowOffset + c] = scale * ((src[at + c] & 0xff) - zero);
            }
        } else {
            TokenQuantizer.fillLookup(lut, scale, zero, bits);
            if (!BitPacker.unpackLookup(in.array(), at, dim, bits, lut, out, rowOffset)) {
                throw new CorruptPayloadException("padding bits after the last code are not zero");
            }
        }
    }

    /** The TS outliers and session-channel values; they overwrite the reconstruction at their channels. */
    private void decodeTail(CodecSpec spec, ByteReader in, int dim, float[] out, int rowOffset, OutlierChannels channels)
            throws CorruptPayloadException {
        int sessionCount = channels == null ? 0 : channels.size();
        if (spec.thresholdSplit()) {
            int n = in.u16("outlier count");
            if (n > dim - sessionCount) {
                throw new CorruptPayloadException("outlier count " + n + " above " + (dim - sessionCount));
            }
            int p = in.skip(4 * n, "outliers");
            byte[] src = in.array();
            int previous = -1;
            for (int i = 0; i < n; i++, p += 4) {
                int c = (src[p] & 0xff) | (src[p + 1] & 0xff) << 8;
                int h = (src[p + 2] & 0xff) | (src[p + 3] & 0xff) << 8;
                if (c <= previous || c >= dim) {
                    throw new CorruptPayloadException("outlier channel " + c + " not ascending or not below " + dim);
                }
                if (mask != null && mask[c]) {
                    throw new CorruptPayloadException("outlier channel " + c + " is a session channel");
                }
                if (!ScaleMath.finiteHalf(h)) {
                    throw new CorruptPayloadException("outlier value at channel " + c + " is not finite");
                }
                out[rowOffset + c] = Half.toFloat((short) h);
                previous = c;
            }
        }
        for (int i = 0; i < sessionCount; i++) {
            int h = in.u16("session channel value");
            if (!ScaleMath.finiteHalf(h)) {
                throw new CorruptPayloadException("session channel " + channels.channel(i) + " value is not finite");
            }
            out[rowOffset + channels.channel(i)] = Half.toFloat((short) h);
        }
    }

    private static void requireFinite(float[] r, int dim, int t) {
        requireFinite(r, 0, dim, t);
    }

    private static void requireFinite(float[] x, int offset, int dim, int t) {
        for (int c = 0; c < dim; c++) {
            if (!Float.isFinite(x[offset + c])) {
                throw nonFinite(x[offset + c], t, c);
            }
        }
    }

    private static IllegalArgumentException nonFinite(float v, int t, int c) {
        return new IllegalArgumentException("non-finite activation " + v + " at token " + t + ", channel " + c);
    }
}
