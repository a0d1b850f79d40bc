package dev.splitllm.quantization.kv;

import dev.splitllm.quantization.Half;
import dev.splitllm.quantization.kv.KvFrameException.KvReason;
import dev.splitllm.quantization.wire.Crc32c;

/**
 * Encodes and decodes KV delta frames ({@code SPKV}, docs/WIRE.md "KV delta frames"): the keys and
 * values of a layer range for a span of positions, fp32 (bit-exact) or KIVI-style quantized (keys
 * per channel over groups of positions, values per token, 2/4/8 bits with fp16 scale and minimum,
 * an optional fp32 residual window of the most recent positions). Pure Java, no allocation before
 * every size is checked against the receiver's {@link KvLimits}; every malformed frame is a
 * {@link KvFrameException}.
 *
 * <p>Quantizer (per group of values x): {@code m} = the largest fp16 ≤ min x, {@code s} = the
 * smallest fp16 ≥ (max x − m)/(2^b − 1) (0 when all equal), code {@code q = clamp(round((x − m)/s), 0, 2^b − 1)},
 * decoded {@code m + s·q} in float. Every decoded value is within s/2 of x plus one float
 * rounding of the sum (bounded by ulp(max |x|)).
 */
public final class KvDeltaCodec {
    private KvDeltaCodec() {}

    /** ASCII {@code SPKV}, little-endian int. */
    public static final int MAGIC = 0x564b5053;
    public static final int VERSION = 1;
    /** Header bytes before the payload. */
    public static final int HEADER_BYTES = 48;
    /** Header plus CRC. */
    public static final int OVERHEAD_BYTES = HEADER_BYTES + 4;

    /**
     * Encodes rows of positions [start, start + n) of layers [firstLayer, firstLayer + keys.length):
     * {@code keys[i]} and {@code values[i]} hold at least n·kvDim floats, row t at t·kvDim. Values
     * must be finite (and within fp16 range for the quantized kind).
     */
    public static byte[] encode(KvSpec spec, long sessionTag, long epoch, int firstLayer, int start, int n, int kvDim,
            float[][] keys, float[][] values) {
        if (spec == null || keys == null || values == null || keys.length != values.length || keys.length == 0) {
            throw new IllegalArgumentException("need a spec and the same number (≥ 1) of key and value layers");
        }
        int layers = keys.length;
        if (epoch < 0 || firstLayer < 0 || firstLayer + layers > KvSpec.MAX_U16 || start < 0 || n < 1
                || (long) start + n > Integer.MAX_VALUE || kvDim < 1 || kvDim > KvSpec.MAX_U16) {
            throw new IllegalArgumentException("invalid KV frame fields: epoch " + epoch + ", layers [" + firstLayer + ", "
                    + (firstLayer + layers) + "), span " + start + "+" + n + ", kvDim " + kvDim);
        }
        for (int i = 0; i < layers; i++) {
            if (keys[i] == null || values[i] == null || keys[i].length < (long) n * kvDim || values[i].length < (long) n * kvDim) {
                throw new IllegalArgumentException("layer " + (firstLayer + i) + " has fewer than " + n + " x " + kvDim + " floats");
            }
            checkFinite(keys[i], n * kvDim, spec.lossless());
            checkFinite(values[i], n * kvDim, spec.lossless());
        }
        long payload = (long) layers * (keySectionBytes(spec, n, kvDim) + valueSectionBytes(spec, n, kvDim));
        long total = OVERHEAD_BYTES + payload;
        if (total > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV frame of " + total + " bytes is too large");
        }
        byte[] out = new byte[(int) total];
        putI32(out, 0, MAGIC);
        out[4] = (byte) VERSION;
        out[5] = (byte) spec.kind();
        out[6] = (byte) spec.bits();
        out[7] = 0;
        putI64(out, 8, sessionTag);
        putI64(out, 16, epoch);
        putU16(out, 24, firstLayer);
        putU16(out, 26, firstLayer + layers);
        putI32(out, 28, start);
        putI32(out, 32, n);
        putI32(out, 36, kvDim);
        putU16(out, 40, spec.window());
        putU16(out, 42, spec.group());
        putI32(out, 44, (int) payload);
        int pos = HEADER_BYTES;
        for (int i = 0; i < layers; i++) {
            pos = encodeSection(spec, keys[i], n, kvDim, true, out, pos);
            pos = encodeSection(spec, values[i], n, kvDim, false, out, pos);
        }
        putI32(out, pos, Crc32c.compute(out, 0, pos));
        return out;
    }

    /** Exact frame size for {@code layers} layers. */
    public static long frameBytes(KvSpec spec, int layers, int n, int kvDim) {
        return OVERHEAD_BYTES + (long) layers * (keySectionBytes(spec, n, kvDim) + valueSectionBytes(spec, n, kvDim));
    }

    static long keySectionBytes(KvSpec spec, int n, int kvDim) {
        if (spec.lossless()) {
            return 4L * n * kvDim;
        }
        int w = Math.min(spec.window(), n), q = n - w;
        long groups = (q + (long) spec.group() - 1) / spec.group();
        return 4L * kvDim * groups + codesBytes(groups, q, spec.group(), kvDim, spec.bits()) + 4L * w * kvDim;
    }

    static long valueSectionBytes(KvSpec spec, int n, int kvDim) {
        if (spec.lossless()) {
            return 4L * n * kvDim;
        }
        int w = Math.min(spec.window(), n), q = n - w;
        return (long) q * (4 + ((long) kvDim * spec.bits() + 7) / 8) + 4L * w * kvDim;
    }

    /** Packed code bytes of the key groups: each group's rows·kvDim codes, padded to a byte. */
    private static long codesBytes(long groups, int q, int group, int kvDim, int bits) {
        if (groups == 0) {
            return 0;
        }
        long full = (groups - 1) * (((long) group * kvDim * bits + 7) / 8);
        long lastRows = q - (groups - 1) * group;
        return full + (lastRows * kvDim * bits + 7) / 8;
    }

    /** Bits per element of a frame (header, scales and CRC included) over its 2·layers·n·kvDim elements. */
    public static double bitsPerElement(KvSpec spec, int layers, int n, int kvDim) {
        return 8.0 * frameBytes(spec, layers, n, kvDim) / (2.0 * layers * n * kvDim);
    }

    private static void checkFinite(float[] a, int count, boolean lossless) {
        for (int i = 0; i < count; i++) {
            float v = a[i];
            if (!Float.isFinite(v) || (!lossless && Math.abs(v) > Half.MAX_VALUE)) {
                throw new IllegalArgumentException("KV value " + v + " at " + i + " is not finite"
                        + (lossless ? "" : " or not within fp16 range"));
            }
        }
    }

    private static int encodeSection(KvSpec spec, float[] x, int n, int kvDim, boolean key, byte[] out, int pos) {
        if (spec.lossless()) {
            for (int i = 0; i < n * kvDim; i++) {
                putI32(out, pos, Float.floatToRawIntBits(x[i]));
                pos += 4;
            }
            return pos;
        }
        int w = Math.min(spec.window(), n), q = n - w, bits = spec.bits(), levels = (1 << bits) - 1;
        if (key) {
            int group = spec.group();
            for (int g0 = 0; g0 < q; g0 += group) {
                int rows = Math.min(group, q - g0);
                int paramsAt = pos;
                pos += 4 * kvDim;
                float[] m = new float[kvDim];
                float[] inv = new float[kvDim];
                for (int c = 0; c < kvDim; c++) {
                    float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
                    for (int t = g0; t < g0 + rows; t++) {
                        float v = x[t * kvDim + c];
                        lo = Math.min(lo, v);
                        hi = Math.max(hi, v);
                    }
                    short mh = fp16Down(lo);
                    m[c] = Half.toFloat(mh);
                    short sh = fp16Up((hi - m[c]) / levels);
                    float s = Half.toFloat(sh);
                    inv[c] = s == 0 ? 0 : 1 / s;
                    putU16(out, paramsAt + 4 * c, sh);
                    putU16(out, paramsAt + 4 * c + 2, mh);
                }
                long bitPos = 0;
                for (int t = g0; t < g0 + rows; t++) {
                    for (int c = 0; c < kvDim; c++) {
                        int code = quantize(x[t * kvDim + c], m[c], inv[c], levels);
                        out[pos + (int) (bitPos >>> 3)] |= (byte) (code << (bitPos & 7));
                        bitPos += bits;
                    }
                }
                pos += (int) ((bitPos + 7) >>> 3);
            }
        } else {
            for (int t = 0; t < q; t++) {
                float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
                for (int c = 0; c < kvDim; c++) {
                    float v = x[t * kvDim + c];
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
                short mh = fp16Down(lo);
                float m = Half.toFloat(mh);
                short sh = fp16Up((hi - m) / levels);
                float s = Half.toFloat(sh);
                float inv = s == 0 ? 0 : 1 / s;
                putU16(out, pos, sh);
                putU16(out, pos + 2, mh);
                pos += 4;
                long bitPos = 0;
                for (int c = 0; c < kvDim; c++) {
                    int code = quantize(x[t * kvDim + c], m, inv, levels);
                    out[pos + (int) (bitPos >>> 3)] |= (byte) (code << (bitPos & 7));
                    bitPos += bits;
                }
                pos += (int) ((bitPos + 7) >>> 3);
            }
        }
        for (int i = q * kvDim; i < n * kvDim; i++) {
            putI32(out, pos, Float.floatToRawIntBits(x[i]));
            pos += 4;
        }
        return pos;
    }

    private static int quantize(float v, float m, float inv, int levels) {
        float r = (v - m) * inv + 0.5f;
        int code = (int) r; // r ≥ 0.5 up to float rounding: truncation is round half up
        return code < 0 ? 0 : Math.min(code, levels);
    }

    /** Largest fp16 ≤ v (v within fp16 range). */
    static short fp16Down(float v) {
        short h = Half.fromFloat(v);
        float f = Half.toFloat(h);
        if (f > v) {
            h = (short) nextDown(h);
        }
        return h;
    }

    /** Smallest fp16 ≥ v ≥ 0; v is a range over at least 3 levels of values within ±65504, so at most 43,670. */
    static short fp16Up(float v) {
        if (!(v > 0)) {
            return 0;
        }
        short h = Half.fromFloat(v);
        if (Half.toFloat(h) < v) {
            h = (short) ((h & 0xffff) + 1); // positive: the next code is the next larger value
        }
        return h;
    }

    private static int nextDown(short h) {
        int b = h & 0xffff;
        if (b == 0) {
            return 0x8001; // +0 -> smallest negative subnormal
        }
        if (b == 0x8000) {
            return 0x8001;
        }
        return (b & 0x8000) != 0 ? b + 1 : b - 1;
    }

    /**
     * Decodes and validates a frame against what the receiver expects; allocates the rows only after
     * every header field, the CRC and the exact payload length have been checked.
     */
    public static KvDelta decode(byte[] frame, KvLimits limits) throws KvFrameException {
        if (frame == null) {
            throw new KvFrameException(KvReason.TRUNCATED, "no frame");
        }
        int len = frame.length;
        if (len > limits.maxFrameBytes()) {
            throw new KvFrameException(KvReason.TOO_LARGE, len + " bytes > limit " + limits.maxFrameBytes());
        }
        if (len < 5) {
            throw new KvFrameException(KvReason.TRUNCATED, len + " bytes");
        }
        if (getI32(frame, 0) != MAGIC) {
            throw new KvFrameException(KvReason.BAD_MAGIC, "not SPKV");
        }
        if ((frame[4] & 0xff) != VERSION) {
            throw new KvFrameException(KvReason.BAD_VERSION, "version " + (frame[4] & 0xff));
        }
        if (len < OVERHEAD_BYTES) {
            throw new KvFrameException(KvReason.TRUNCATED, len + " bytes < " + OVERHEAD_BYTES);
        }
        long payload = getI32(frame, 44) & 0xffffffffL;
        if (OVERHEAD_BYTES + payload > len) {
            throw new KvFrameException(KvReason.TRUNCATED, "payload of " + payload + " bytes in a frame of " + len);
        }
        if (OVERHEAD_BYTES + payload < len) {
            throw new KvFrameException(KvReason.TRAILING_BYTES, (len - OVERHEAD_BYTES - payload) + " bytes after the CRC");
        }
        int crcAt = HEADER_BYTES + (int) payload;
        if (getI32(frame, crcAt) != Crc32c.compute(frame, 0, crcAt)) {
            throw new KvFrameException(KvReason.BAD_CHECKSUM, "CRC32C mismatch");
        }
        int kind = frame[5] & 0xff, bits = frame[6] & 0xff, flags = frame[7] & 0xff;
        long tag = getI64(frame, 8), epoch = getI64(frame, 16);
        int first = getU16(frame, 24), end = getU16(frame, 26);
        int start = getI32(frame, 28);
        long n = getI32(frame, 32) & 0xffffffffL, kvDim = getI32(frame, 36) & 0xffffffffL;
        int window = getU16(frame, 40), group = getU16(frame, 42);
        if (flags != 0) {
            throw new KvFrameException(KvReason.BAD_FIELD, "flags " + flags);
        }
        if (epoch < 0 || start < 0 || n < 1 || kvDim < 1 || end <= first) {
            throw new KvFrameException(KvReason.BAD_FIELD, "epoch " + epoch + ", start " + start + ", n " + n + ", kvDim "
                    + kvDim + ", layers [" + first + ", " + end + ")");
        }
        KvSpec spec;
        if (kind == KvSpec.KIND_FP32 && bits == 0 && window == 0 && group == 0) {
            spec = KvSpec.FP32;
        } else if (kind == KvSpec.KIND_KIVI && (bits == 2 || bits == 4 || bits == 8) && group >= 1) {
            spec = KvSpec.kivi(bits, window, group);
        } else {
            throw new KvFrameException(KvReason.BAD_KIND, "kind " + kind + ", bits " + bits + ", window " + window + ", group " + group);
        }
        if (first != limits.firstLayer() || end != limits.endLayer()) {
            throw new KvFrameException(KvReason.WRONG_LAYERS, "layers [" + first + ", " + end + "), expected ["
                    + limits.firstLayer() + ", " + limits.endLayer() + ")");
        }
        if (kvDim != limits.kvDim()) {
            throw new KvFrameException(KvReason.WRONG_KV_DIM, "kvDim " + kvDim + ", expected " + limits.kvDim());
        }
        if (start + n > limits.maxPositions()) {
            throw new KvFrameException(KvReason.BEYOND_SESSION, "positions [" + start + ", " + (start + n)
                    + ") beyond the session's " + limits.maxPositions());
        }
        if (limits.epoch() >= 0 && epoch != limits.epoch()) {
            throw new KvFrameException(KvReason.STALE_EPOCH, "epoch " + epoch + ", expected " + limits.epoch());
        }
        int layers = end - first, dim = (int) kvDim;
        if (n * kvDim > Integer.MAX_VALUE - 16) {
            throw new KvFrameException(KvReason.TOO_LARGE, n + " x " + kvDim + " floats per layer");
        }
        int rows = (int) n;
        long expected = (long) layers * (keySectionBytes(spec, rows, dim) + valueSectionBytes(spec, rows, dim));
        if (expected != payload) {
            throw new KvFrameException(KvReason.BAD_PAYLOAD, "payload " + payload + " bytes, the header needs " + expected);
        }
        // Every output float is backed by at least 2 bits of payload already in hand (2-bit codes), so the
        // allocation is at most 16x the frame, itself within the receiver's limit.
        float[][] keys = new float[layers][];
        float[][] values = new float[layers][];
        int pos = HEADER_BYTES;
        for (int i = 0; i < layers; i++) {
            keys[i] = new float[rows * dim];
            values[i] = new float[rows * dim];
            pos = decodeSection(spec, frame, pos, keys[i], rows, dim, true);
            pos = decodeSection(spec, frame, pos, values[i], rows, dim, false);
        }
        return new KvDelta(spec, tag, epoch, first, end, start, rows, dim, keys, values);
    }

    private static int decodeSection(KvSpec spec, byte[] in, int pos, float[] x, int n, int kvDim, boolean key)
            throws KvFrameException {
        if (spec.lossless()) {
            return readF32(in, pos, x, 0, n * kvDim);
        }
        int w = Math.min(spec.window(), n), q = n - w, bits = spec.bits(), mask = (1 << bits) - 1;
        if (key) {
            int group = spec.group();
            float[] m = new float[kvDim];
            float[] s = new float[kvDim];
            for (int g0 = 0; g0 < q; g0 += group) {
                int rows = Math.min(group, q - g0);
                for (int c = 0; c < kvDim; c++) {
                    s[c] = scale(in, pos + 4 * c);
                    m[c] = minimum(in, pos + 4 * c + 2);
                }
                pos += 4 * kvDim;
                long bitPos = 0;
                for (int t = g0; t < g0 + rows; t++) {
                    for (int c = 0; c < kvDim; c++) {
                        int code = ((in[pos + (int) (bitPos >>> 3)] & 0xff) >>> (bitPos & 7)) & mask;
                        x[t * kvDim + c] = m[c] + s[c] * code;
                        bitPos += bits;
                    }
                }
                pos = checkPadding(in, pos, bitPos);
            }
        } else {
            for (int t = 0; t < q; t++) {
                float s = scale(in, pos), m = minimum(in, pos + 2);
                pos += 4;
                long bitPos = 0;
                for (int c = 0; c < kvDim; c++) {
                    int code = ((in[pos + (int) (bitPos >>> 3)] & 0xff) >>> (bitPos & 7)) & mask;
                    x[t * kvDim + c] = m + s * code;
                    bitPos += bits;
                }
                pos = checkPadding(in, pos, bitPos);
            }
        }
        return readF32(in, pos, x, q * kvDim, w * kvDim);
    }

    private static int checkPadding(byte[] in, int pos, long bitPos) throws KvFrameException {
        int used = (int) (bitPos & 7);
        int bytes = (int) ((bitPos + 7) >>> 3);
        if (used != 0 && ((in[pos + bytes - 1] & 0xff) >>> used) != 0) {
            throw new KvFrameException(KvReason.BAD_PAYLOAD, "non-zero padding bits");
        }
        return pos + bytes;
    }

    private static float scale(byte[] in, int at) throws KvFrameException {
        float s = Half.toFloat((short) getU16(in, at));
        if (!(s >= 0) || Float.isInfinite(s) || Float.floatToRawIntBits(s) == 0x80000000) {
            throw new KvFrameException(KvReason.BAD_PAYLOAD, "scale " + s + " at byte " + at);
        }
        return s;
    }

    private static float minimum(byte[] in, int at) throws KvFrameException {
        float m = Half.toFloat((short) getU16(in, at));
        if (!Float.isFinite(m)) {
            throw new KvFrameException(KvReason.BAD_PAYLOAD, "minimum " + m + " at byte " + at);
        }
        return m;
    }

    private static int readF32(byte[] in, int pos, float[] x, int from, int count) throws KvFrameException {
        for (int i = 0; i < count; i++) {
            float v = Float.intBitsToFloat(getI32(in, pos));
            if (!Float.isFinite(v)) {
                throw new KvFrameException(KvReason.BAD_PAYLOAD, "non-finite fp32 value at byte " + pos);
            }
            x[from + i] = v;
            pos += 4;
        }
        return pos;
    }

    private static void putU16(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
    }

    private static void putI32(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }

    private static void putI64(byte[] b, int at, long v) {
        putI32(b, at, (int) v);
        putI32(b, at + 4, (int) (v >>> 32));
    }

    private static int getU16(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8;
    }

    private static int getI32(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    private static long getI64(byte[] b, int at) {
        return (getI32(b, at) & 0xffffffffL) | ((long) getI32(b, at + 4)) << 32;
    }
}
