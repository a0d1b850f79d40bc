package dev.splitllm.quantization.kv;

/**
 * What a KV delta frame carries: the lossless {@code fp32} kind, or the KIVI-style quantized kind
 * ({@code kivi:bits=B[,window=W][,group=G]}): keys quantized per channel over groups of G
 * positions, values per token, B in {2, 4, 8} with fp16 scale and minimum, and the W most recent
 * positions of the span kept in fp32 (the residual window). {@link #parse} and {@link #toString}
 * round-trip; the wire (docs/WIRE.md, "KV delta frames") accepts exactly what the constructor does.
 */
public final class KvSpec {
    /** Kind byte 0: fp32 rows, bit-exact. */
    public static final int KIND_FP32 = 0;
    /** Kind byte 1: KIVI-style quantized rows. */
    public static final int KIND_KIVI = 1;
    /** Default key group (positions per per-channel scale), as in KIVI. */
    public static final int DEFAULT_GROUP = 32;
    /** Largest residual window and key group the wire carries (u16). */
    public static final int MAX_U16 = 65535;

    /** The lossless kind. */
    public static final KvSpec FP32 = new KvSpec(KIND_FP32, 0, 0, 0);

    /**
     * The default lossy kind, {@code kivi:bits=8}: on stories15M it costs less KL than the default
     * activation codec at split 3 (docs/RESULTS.md, "Issue 14: KV delta codec").
     */
    public static final KvSpec DEFAULT = new KvSpec(KIND_KIVI, 8, 0, DEFAULT_GROUP);

    private final int kind;
    private final int bits;
    private final int window;
    private final int group;

    private KvSpec(int kind, int bits, int window, int group) {
        this.kind = kind;
        this.bits = bits;
        this.window = window;
        this.group = group;
    }

    /** The quantized kind: {@code bits} in {2, 4, 8}, {@code window} in 0..65535, {@code group} in 1..65535. */
    public static KvSpec kivi(int bits, int window, int group) {
        if (bits != 2 && bits != 4 && bits != 8) {
            throw new IllegalArgumentException("KV bits must be 2, 4 or 8, got " + bits);
        }
        if (window < 0 || window > MAX_U16) {
            throw new IllegalArgumentException("residual window must be in 0.." + MAX_U16 + ", got " + window);
        }
        if (group < 1 || group > MAX_U16) {
            throw new IllegalArgumentException("key group must be in 1.." + MAX_U16 + ", got " + group);
        }
        return new KvSpec(KIND_KIVI, bits, window, group);
    }

    /** {@code fp32} or {@code kivi:bits=B[,window=W][,group=G]} (defaults window 0, group 32). */
    public static KvSpec parse(String s) {
        if (s == null) {
            throw new IllegalArgumentException("KV spec is null");
        }
        if (s.equals("fp32")) {
            return FP32;
        }
        if (!s.startsWith("kivi:")) {
            throw new IllegalArgumentException("KV spec must be fp32 or kivi:bits=B[,window=W][,group=G], got " + s);
        }
        int bits = -1, window = -1, group = -1;
        boolean seenBits = false, seenWindow = false, seenGroup = false;
        for (String part : s.substring(5).split(",", -1)) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("bad KV option '" + part + "' in " + s);
            }
            String key = part.substring(0, eq);
            int v;
            try {
                v = Integer.parseInt(part.substring(eq + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad number in '" + part + "' of " + s);
            }
            if (key.equals("bits") && !seenBits) {
                bits = v;
                seenBits = true;
            } else if (key.equals("window") && !seenWindow) {
                window = v;
                seenWindow = true;
            } else if (key.equals("group") && !seenGroup) {
                group = v;
                seenGroup = true;
            } else {
                throw new IllegalArgumentException("unknown or repeated KV option '" + key + "' in " + s);
            }
        }
        if (!seenBits) {
            throw new IllegalArgumentException("kivi needs bits=2|4|8: " + s);
        }
        return kivi(bits, seenWindow ? window : 0, seenGroup ? group : DEFAULT_GROUP);
    }

    public int kind() {
        return kind;
    }

    /** 2, 4 or 8 for the quantized kind, 0 for fp32. */
    public int bits() {
        return bits;
    }

    /** Positions at the end of the span kept in fp32 (quantized kind; 0 for fp32). */
    public int window() {
        return window;
    }

    /** Positions per per-channel key scale (quantized kind; 0 for fp32). */
    public int group() {
        return group;
    }

    public boolean lossless() {
        return kind == KIND_FP32;
    }

    @Override
    public String toString() {
        if (kind == KIND_FP32) {
            return "fp32";
        }
        return "kivi:bits=" + bits + (window > 0 ? ",window=" + window : "") + (group != DEFAULT_GROUP ? ",group=" + group : "");
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof KvSpec)) {
            return false;
        }
        KvSpec k = (KvSpec) o;
        return kind == k.kind && bits == k.bits && window == k.window && group == k.group;
    }

    @Override
    public int hashCode() {
        return ((kind * 31 + bits) * 31 + window) * 31 + group;
    }
}
