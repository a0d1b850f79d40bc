package dev.splitllm.quantization.codec;

/**
 * A static rANS table over the 2^b codes of one bit-width: every code has a frequency
 * {@code f >= 1} and the frequencies sum to {@link #TOTAL} = 2^12. Static tables are calibrated
 * once ({@link CodecTables}) and never travel in frames, so a one-token frame pays no table.
 *
 * <p>Coder (byte-wise rANS, J. Duda; layout as in F. Giesen's rans_byte): a 32-bit state x in
 * [L, 256 L) with L = 2^23. Encoding code s with frequency f and cumulative frequency c:
 * while x ≥ 2^19·f emit the low byte of x and shift it out; then x ← ⌊x/f⌋·2^12 + (x mod f) + c.
 * Codes are encoded last to first, the emitted bytes reversed, then the final state is written
 * (4 bytes, little-endian), so the decoder reads one stream forward: the state, then one code per
 * step, {@code slot = x mod 2^12}, s = the code whose [c, c+f) holds slot,
 * x ← f·⌊x/2^12⌋ + slot − c, and while x &lt; L: x ← 256x + next byte. A correct stream ends with
 * x = L exactly, which the decoder checks. Every code has f ≥ 1, so every input can be encoded.
 *
 * <p>The division uses a precomputed reciprocal (exact for every 31-bit x), so neither side
 * divides. Immutable and thread-safe.
 */
public final class RansTable {
    /** log2 of the frequency total. */
    public static final int PROB_BITS = 12;
    /** Sum of the frequencies. */
    public static final int TOTAL = 1 << PROB_BITS;
    /** Lower bound of the normalised state. */
    static final int L = 1 << 23;
    /** Bytes of the flushed state at the start of a stream. */
    public static final int STATE_BYTES = 4;

    private final int bits;
    private final int[] freq;
    private final int[] cum;
    // Encoder: x_max threshold, reciprocal multiplier and shift, per code.
    private final int[] xMax;
    private final long[] rcp;
    private final int[] rcpShift;
    // Decoder: per slot, the code and (f | (slot - c) << 13).
    private final byte[] slotCode;
    private final int[] slotInfo;

    /**
     * A table for {@code bits}-bit codes (1..8) from {@code freq} (length 2^bits, each ≥ 1,
     * summing to {@link #TOTAL}).
     *
     * @throws IllegalArgumentException when the frequencies break those rules
     */
    public RansTable(int bits, int[] freq) {
        if (bits < 1 || bits > 8) {
            throw new IllegalArgumentException("rANS table bit-width must be in 1..8, got " + bits);
        }
        int n = 1 << bits;
        if (freq == null || freq.length != n) {
            throw new IllegalArgumentException("a " + bits + "-bit rANS table needs " + n + " frequencies");
        }
        this.bits = bits;
        this.freq = freq.clone();
        this.cum = new int[n + 1];
        long sum = 0;
        for (int s = 0; s < n; s++) {
            if (this.freq[s] < 1 || this.freq[s] >= TOTAL) {
                throw new IllegalArgumentException("rANS frequency of code " + s + " must be in 1.." + (TOTAL - 1) + ", got " + this.freq[s]);
            }
            cum[s] = (int) sum;
            sum += this.freq[s];
        }
        if (sum != TOTAL) {
            throw new IllegalArgumentException("rANS frequencies sum to " + sum + ", must be " + TOTAL);
        }
        cum[n] = TOTAL;
        xMax = new int[n];
        rcp = new long[n];
        rcpShift = new int[n];
        for (int s = 0; s < n; s++) {
            int f = this.freq[s];
            xMax[s] = ((L >>> PROB_BITS) << 8) * f; // < 2^31 since f < 2^12
            // floor(x / f) = (x * m) >>> k for every x < 2^31 with k = 31 + ceil(log2 f), m = ceil(2^k / f).
            int k = 31 + (32 - Integer.numberOfLeadingZeros(f - 1));
            rcpShift[s] = k;
            rcp[s] = ((1L << k) + f - 1) / f;
        }
        slotCode = new byte[TOTAL];
        slotInfo = new int[TOTAL];
        for (int s = 0; s < n; s++) {
            for (int slot = cum[s]; slot < cum[s + 1]; slot++) {
                slotCode[slot] = (byte) s;
                slotInfo[slot] = freq[s] | (slot - cum[s]) << 13;
            }
        }
    }

    /**
     * The table for {@code bits}-bit codes whose frequencies follow {@code counts} (length 2^bits,
     * any non-negative counts, e.g. a calibration histogram): each code gets at least 1, the rest
     * of the total in proportion to its count (largest remainders first).
     */
    public static RansTable fromCounts(int bits, long[] counts) {
        if (bits < 1 || bits > 8 || counts == null || counts.length != 1 << bits) {
            throw new IllegalArgumentException("need 2^bits counts for bits in 1..8");
        }
        int n = counts.length;
        long total = 0;
        for (long c : counts) {
            if (c < 0) {
                throw new IllegalArgumentException("negative count " + c);
            }
            total += c;
        }
        int[] f = new int[n];
        int spare = TOTAL - n; // what is left after the floor of 1 per code
        if (total == 0) {
            for (int s = 0; s < n; s++) {
                f[s] = TOTAL / n;
            }
            return new RansTable(bits, f);
        }
        double[] rest = new double[n];
        int given = 0;
        for (int s = 0; s < n; s++) {
            double share = (double) counts[s] * spare / total;
            int whole = (int) share;
            f[s] = 1 + whole;
            rest[s] = share - whole;
            given += whole;
        }
        // Hand out what rounding down left, largest remainder first (ties: lower code).
        for (int left = spare - given; left > 0; left--) {
            int best = 0;
            for (int s = 1; s < n; s++) {
                if (rest[s] > rest[best]) {
                    best = s;
                }
            }
            f[best]++;
            rest[best] = -1;
        }
        return new RansTable(bits, f);
    }

    public int bits() {
        return bits;
    }

    /** Frequency of each code (a copy). */
    public int[] frequencies() {
        return freq.clone();
    }

    /** Ideal cost in bits of coding {@code code} with this table (−log2 f/TOTAL). */
    public double cost(int code) {
        return PROB_BITS - Math.log(freq[code]) / Math.log(2);
    }

    /** Most bytes a stream of {@code n} codes can take (state plus at most 12 bits per code). */
    public static long maxStreamBytes(long n) {
        return STATE_BYTES + (n * PROB_BITS + 7) / 8 + 1;
    }

    /**
     * Encodes {@code codes[0, n)} (each below 2^bits) into {@code dst} from {@code offset}, using
     * {@code scratch} (at least {@link #maxStreamBytes}(n) bytes) for the reversed output.
     *
     * @return bytes written
     */
    public int encode(byte[] codes, int n, byte[] scratch, byte[] dst, int offset) {
        int x = L;
        int p = scratch.length; // bytes go backwards from the end of scratch
        final int[] xMax = this.xMax, cum = this.cum;
        final long[] rcp = this.rcp;
        final int[] shift = this.rcpShift;
        final int[] freq = this.freq;
        for (int i = n - 1; i >= 0; i--) {
            int s = codes[i] & 0xff;
            int limit = xMax[s];
            while (x >= limit) { // at most twice: x < 2^31 and limit >= 2^19
                scratch[--p] = (byte) x;
                x >>>= 8;
            }
            int q = (int) ((x * rcp[s]) >>> shift[s]);
            x = x + q * (TOTAL - freq[s]) + cum[s];
        }
        dst[offset] = (byte) x;
        dst[offset + 1] = (byte) (x >>> 8);
        dst[offset + 2] = (byte) (x >>> 16);
        dst[offset + 3] = (byte) (x >>> 24);
        int len = scratch.length - p;
        System.arraycopy(scratch, p, dst, offset + STATE_BYTES, len);
        return STATE_BYTES + len;
    }

    /**
     * Decodes {@code n} codes from {@code src[offset, end)} into {@code codes}. Returns the bytes
     * read, or −1 when the stream is corrupt (runs past {@code end}, or does not end in the
     * initial state).
     */
    public int decode(byte[] src, int offset, int end, byte[] codes, int n) {
        if (end - offset < STATE_BYTES) {
            return -1;
        }
        int x = (src[offset] & 0xff) | (src[offset + 1] & 0xff) << 8 | (src[offset + 2] & 0xff) << 16 | (src[offset + 3] & 0xff) << 24;
        if (x < L) { // also catches negative (x >= 2^31): the encoder never flushes such a state
            return -1;
        }
        int p = offset + STATE_BYTES;
        final byte[] slotCode = this.slotCode;
        final int[] slotInfo = this.slotInfo;
        for (int i = 0; i < n; i++) {
            int slot = x & (TOTAL - 1);
            int info = slotInfo[slot];
            codes[i] = slotCode[slot];
            x = (info & 0x1fff) * (x >>> PROB_BITS) + (info >>> 13);
            while (x < L) {
                if (p >= end) {
                    return -1;
                }
                x = x << 8 | (src[p++] & 0xff);
            }
        }
        return x == L ? p - offset : -1;
    }
}
