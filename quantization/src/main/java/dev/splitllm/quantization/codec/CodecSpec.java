package dev.splitllm.quantization.codec;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * What the activation codec does: an immutable description that travels in every frame's
 * codec-parameter block and is written on the command line or in plan files as a short string.
 *
 * <p>String form: {@code kind[:option,option,...]}, for example {@code fp32}, {@code fp16},
 * {@code q8_0}, {@code uniform:bits=4}, {@code tabq:eps=0.001,bits=2/3/4/6/8,tau=3.5,rot,zstd}.
 * {@link #toString()} and {@link #parse(String)} round-trip. Options:
 * <ul>
 *   <li>{@code bits=B} (uniform, required): the fixed bit-width, 1..8.</li>
 *   <li>{@code eps=E} (tabq, default 0.001): relative-MSE budget per token, 0 &lt; E &lt;= 1.</li>
 *   <li>{@code bits=a/b/c} (tabq, default 2/3/4/6/8): allowed bit-widths, strictly ascending, each 1..8.</li>
 *   <li>{@code tau=X} (tabq, default off): absolute outlier threshold; {@code 0} or {@code inf} turns
 *       threshold splitting off.</li>
 *   <li>{@code channels=session} (tabq, needs tau): per-session outlier channel set.</li>
 *   <li>{@code rot} or {@code rot=SEED} (q8_0, uniform, tabq): block-wise Hadamard rotation with
 *       random signs drawn from SEED.</li>
 *   <li>{@code group=G} (tabq, G in 16..128, a power of two): group-wise symmetric scales
 *       ({@link GroupQuantizer}); bit-widths must be &gt;= 2.</li>
 *   <li>{@code mean} (tabq): subtract the calibrated per-channel mean first ({@link CodecTables}).</li>
 *   <li>{@code step} (tabq with ans): a per-token step size from the budget instead of a bit-width
 *       ({@link StepQuantizer}); implies {@code bits=8}.</li>
 *   <li>{@code ans} (tabq): rANS-code the codes with the calibrated static tables ({@link RansTable}).</li>
 *   <li>{@code tables=HEX16} (with mean or ans): the hash of the calibrated {@link CodecTables};
 *       without it the spec is a template the calibration binds.</li>
 *   <li>{@code zstd} (any kind): zstd stage over the whole payload; {@code zstd=prefill}: only on
 *       frames of two or more tokens (prefill; decode frames carry one token).</li>
 * </ul>
 * Fields that do not apply to a kind hold their neutral value (0, +inf, false) and are checked.
 *
 * @param kind            codec family
 * @param uniformBits     fixed bit-width for {@link CodecKind#UNIFORM}, else 0
 * @param epsilon         relative-MSE budget for {@link CodecKind#TABQ}, else 0
 * @param bitMask         TAB-Q bit set: bit {@code w-1} set when width {@code w} is allowed; else 0
 * @param tau             TS threshold (absolute); +inf when TS is off (0 is normalised to +inf)
 * @param sessionChannels per-session outlier channel set (TABQ with TS only)
 * @param rotation        Hadamard rotation on
 * @param rotationSeed    seed of the rotation's random signs; 0 when rotation is off
 * @param zstd            zstd stage on
 * @param group           TAB-Q group size for group-wise scales (16, 32, 64 or 128), 0 = one range per token
 * @param mean            subtract the calibrated per-channel mean before everything else (TABQ; needs tables)
 * @param ans             rANS-code the quantized codes with the calibrated static tables (TABQ; needs tables)
 * @param zstdPrefillOnly zstd only on frames of at least two tokens (prefill); one-token frames skip it
 * @param tablesHash      hash of the {@link CodecTables} the session uses (mean, rANS tables), 0 = none
 *                        or not calibrated yet
 * @param step            per-token step size from the budget instead of a bit-width ({@link StepQuantizer};
 *                        TABQ with ans, bit set exactly {8}, no group)
 */
public record CodecSpec(CodecKind kind, int uniformBits, float epsilon, int bitMask, float tau,
                        boolean sessionChannels, boolean rotation, long rotationSeed, boolean zstd,
                        int group, boolean mean, boolean ans, boolean zstdPrefillOnly, long tablesHash, boolean step) {

    /** Default TAB-Q relative-MSE budget. */
    public static final float DEFAULT_EPSILON = 1e-3f;
    /** The bit set of a step spec: the symbols are 8-bit. */
    public static final int STEP_BIT_MASK = 0x80;
    /** Default TAB-Q bit set {2,3,4,6,8} as a mask. */
    public static final int DEFAULT_BIT_MASK = maskOf(2, 3, 4, 6, 8);
    /** Rotation seed used by a bare {@code rot}. */
    public static final long DEFAULT_ROTATION_SEED = 0x5eedL;
    /** Smallest and largest group size of group-wise scales. */
    public static final int MIN_GROUP = 16, MAX_GROUP = 128;
    /** Longest codec string accepted by {@link #parse}. */
    public static final int MAX_STRING_LENGTH = 256;

    /** Validates every field; messages name the offending value. */
    public CodecSpec {
        if (kind == null) {
            throw new IllegalArgumentException("codec kind is missing");
        }
        if (Float.isNaN(tau) || tau < 0f) {
            throw new IllegalArgumentException("tau must be >= 0 or inf, got " + tau);
        }
        if (tau == 0f) {
            tau = Float.POSITIVE_INFINITY; // 0 and inf both mean "TS off"; keep one representation
        }
        if (kind == CodecKind.UNIFORM) {
            if (uniformBits < 1 || uniformBits > 8) {
                throw new IllegalArgumentException("uniform needs bits in 1..8, got " + uniformBits);
            }
        } else if (uniformBits != 0) {
            throw new IllegalArgumentException("a fixed bit-width only applies to uniform, not " + kind.id());
        }
        if (kind == CodecKind.TABQ) {
            if (!(epsilon > 0f && epsilon <= 1f)) {
                throw new IllegalArgumentException("eps must be in (0, 1], got " + epsilon);
            }
            if (bitMask <= 0 || bitMask > 0xff) {
                throw new IllegalArgumentException("tabq bit set must be a non-empty subset of 1..8");
            }
        } else {
            if (Float.floatToRawIntBits(epsilon) != 0 || bitMask != 0) {
                throw new IllegalArgumentException("eps and a bit set only apply to tabq, not " + kind.id());
            }
            if (tau != Float.POSITIVE_INFINITY) {
                throw new IllegalArgumentException("threshold splitting (tau) only applies to tabq, not " + kind.id());
            }
        }
        if (sessionChannels && !(kind == CodecKind.TABQ && tau != Float.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("channels=session needs tabq with a finite tau > 0");
        }
        if (rotation && kind.lossless()) {
            throw new IllegalArgumentException("rotation does not apply to lossless " + kind.id());
        }
        if (!rotation && rotationSeed != 0) {
            throw new IllegalArgumentException("rotation seed given but rotation is off");
        }
        if (rotation && rotationSeed == 0) {
            throw new IllegalArgumentException("rotation seed must be non-zero");
        }
        if (group != 0) {
            if (kind != CodecKind.TABQ) {
                throw new IllegalArgumentException("group-wise scales only apply to tabq, not " + kind.id());
            }
            if (group < MIN_GROUP || group > MAX_GROUP || Integer.bitCount(group) != 1) {
                throw new IllegalArgumentException("group must be a power of two in " + MIN_GROUP + ".." + MAX_GROUP + ", got " + group);
            }
            if ((bitMask & 1) != 0) {
                throw new IllegalArgumentException("group-wise scales are symmetric and need bit-widths >= 2");
            }
        }
        if ((mean || ans) && kind != CodecKind.TABQ) {
            throw new IllegalArgumentException("mean and ans only apply to tabq, not " + kind.id());
        }
        if (tablesHash != 0 && !(mean || ans)) {
            throw new IllegalArgumentException("codec tables given but neither mean nor ans uses them");
        }
        if (step && !(kind == CodecKind.TABQ && ans && bitMask == STEP_BIT_MASK && group == 0)) {
            throw new IllegalArgumentException("step needs tabq with ans, bits=8 and no group");
        }
        if (zstdPrefillOnly && !zstd) {
            throw new IllegalArgumentException("zstd=prefill needs the zstd stage");
        }
    }

    /** A spec without the stages of issue 19 (group, mean, ans, zstd=prefill, tables). */
    public CodecSpec(CodecKind kind, int uniformBits, float epsilon, int bitMask, float tau,
                     boolean sessionChannels, boolean rotation, long rotationSeed, boolean zstd) {
        this(kind, uniformBits, epsilon, bitMask, tau, sessionChannels, rotation, rotationSeed, zstd, 0, false, false, false, 0L, false);
    }

    /** Bit-exact 32-bit floats. */
    public static CodecSpec fp32() {
        return new CodecSpec(CodecKind.FP32, 0, 0f, 0, Float.POSITIVE_INFINITY, false, false, 0, false);
    }

    /** IEEE half precision. */
    public static CodecSpec fp16() {
        return new CodecSpec(CodecKind.FP16, 0, 0f, 0, Float.POSITIVE_INFINITY, false, false, 0, false);
    }

    /** The Q8_0 baseline. */
    public static CodecSpec q8_0() {
        return new CodecSpec(CodecKind.Q8_0, 0, 0f, 0, Float.POSITIVE_INFINITY, false, false, 0, false);
    }

    /** Per-token min-max at a fixed bit-width. */
    public static CodecSpec uniform(int bits) {
        return new CodecSpec(CodecKind.UNIFORM, bits, 0f, 0, Float.POSITIVE_INFINITY, false, false, 0, false);
    }

    /** TS + TAB-Q; {@code tau} = +inf or 0 turns TS off. */
    public static CodecSpec tabq(float epsilon, int bitMask, float tau) {
        return new CodecSpec(CodecKind.TABQ, 0, epsilon, bitMask, tau, false, false, 0, false);
    }

    /** This spec with the zstd stage on every frame. */
    public CodecSpec withZstd() {
        return new CodecSpec(kind, uniformBits, epsilon, bitMask, tau, sessionChannels, rotation, rotationSeed, true,
                group, mean, ans, false, tablesHash, step);
    }

    /** This spec with zstd on prefill frames (two or more tokens) only. */
    public CodecSpec withZstdPrefill() {
        return new CodecSpec(kind, uniformBits, epsilon, bitMask, tau, sessionChannels, rotation, rotationSeed, true,
                group, mean, ans, true, tablesHash, step);
    }

    /** This spec with Hadamard rotation seeded by {@code seed}. */
    public CodecSpec withRotation(long seed) {
        return new CodecSpec(kind, uniformBits, epsilon, bitMask, tau, sessionChannels, true, seed, zstd,
                group, mean, ans, zstdPrefillOnly, tablesHash, step);
    }

    /** This spec in per-session outlier channel mode. */
    public CodecSpec withSessionChannels() {
        return new CodecSpec(kind, uniformBits, epsilon, bitMask, tau, true, rotation, rotationSeed, zstd,
                group, mean, ans, zstdPrefillOnly, tablesHash, step);
    }

    /** This spec with group-wise scales over groups of {@code size} values. */
    public CodecSpec withGroup(int size) {
        return new CodecSpec(kind, uniformBits, epsilon, bitMask, tau, sessionChannels, rotation, rotationSeed, zstd,
                size, mean, ans, zstdPrefillOnly, tablesHash, step);
    }

    /** This spec with the calibrated per-channel mean removed first. */
    public CodecSpec withMean() {
        return new CodecSpec(kind, uniformBits, epsilon, bitMask, tau, sessionChannels, rotation, rotationSeed, zstd,
                group, true, ans, zstdPrefillOnly, tablesHash, step);
    }

    /** This spec with rANS coding of the codes. */
    public CodecSpec withAns() {
        return new CodecSpec(kind, uniformBits, epsilon, bitMask, tau, sessionChannels, rotation, rotationSeed, zstd,
                group, mean, true, zstdPrefillOnly, tablesHash, step);
    }

    /** This spec bound to the codec tables with {@code hash} (0: unbound, a template to calibrate). */
    public CodecSpec withTables(long hash) {
        return new CodecSpec(kind, uniformBits, epsilon, bitMask, tau, sessionChannels, rotation, rotationSeed, zstd,
                group, mean, ans, zstdPrefillOnly, hash, step);
    }

    /** This spec with the step quantizer (sets the bit set to {8}). */
    public CodecSpec withStep() {
        return new CodecSpec(kind, uniformBits, epsilon, STEP_BIT_MASK, tau, sessionChannels, rotation, rotationSeed, zstd,
                group, mean, ans, zstdPrefillOnly, tablesHash, true);
    }

    /** True when the spec needs calibrated {@link CodecTables} (mean or ans). */
    public boolean needsTables() {
        return mean || ans;
    }

    /** True when zstd runs on a frame of {@code tokens} tokens. */
    public boolean zstdFor(int tokens) {
        return zstd && (!zstdPrefillOnly || tokens >= 2);
    }

    /** True when threshold splitting is on. */
    public boolean thresholdSplit() {
        return tau != Float.POSITIVE_INFINITY;
    }

    /** True when {@code bits} may be sent for a token under this spec. */
    public boolean allowsBits(int bits) {
        if (kind == CodecKind.UNIFORM) {
            return bits == uniformBits;
        }
        return kind == CodecKind.TABQ && bits >= 1 && bits <= 8 && (bitMask & (1 << (bits - 1))) != 0;
    }

    /** Largest bit-width this spec may send (8 for Q8_0, 16/32 for the float kinds). */
    public int maxBits() {
        switch (kind) {
            case FP32: return 32;
            case FP16: return 16;
            case Q8_0: return 8;
            case UNIFORM: return uniformBits;
            default: return 32 - Integer.numberOfLeadingZeros(bitMask);
        }
    }

    /** Smallest bit-width this spec may send. */
    public int minBits() {
        if (kind == CodecKind.TABQ) {
            return Integer.numberOfTrailingZeros(bitMask) + 1;
        }
        return maxBits();
    }

    /** The TAB-Q bit set, ascending (empty for other kinds). */
    public int[] bitWidths() {
        int[] out = new int[Integer.bitCount(bitMask)];
        int n = 0;
        for (int w = 1; w <= 8; w++) {
            if ((bitMask & (1 << (w - 1))) != 0) {
                out[n++] = w;
            }
        }
        return out;
    }

    /** Mask of the given bit-widths; each must be in 1..8, strictly ascending. */
    public static int maskOf(int... widths) {
        if (widths.length == 0) {
            throw new IllegalArgumentException("bit set is empty");
        }
        int mask = 0;
        int previous = 0;
        for (int w : widths) {
            if (w < 1 || w > 8) {
                throw new IllegalArgumentException("bit-width must be in 1..8, got " + w);
            }
            if (w <= previous) {
                throw new IllegalArgumentException("bit-widths must be strictly ascending, got " + w + " after " + previous);
            }
            mask |= 1 << (w - 1);
            previous = w;
        }
        return mask;
    }

    /** Parses the string form; throws IllegalArgumentException with the reason on any error. */
    public static CodecSpec parse(String text) {
        if (text == null || text.trim().isEmpty()) {
            throw new IllegalArgumentException("codec string is empty");
        }
        if (text.length() > MAX_STRING_LENGTH) {
            throw new IllegalArgumentException("codec string longer than " + MAX_STRING_LENGTH + " characters");
        }
        String s = text.trim();
        int colon = s.indexOf(':');
        CodecKind kind = CodecKind.parse(colon < 0 ? s : s.substring(0, colon));
        int uniformBits = 0;
        float epsilon = kind == CodecKind.TABQ ? DEFAULT_EPSILON : 0f;
        int bitMask = kind == CodecKind.TABQ ? DEFAULT_BIT_MASK : 0;
        float tau = Float.POSITIVE_INFINITY;
        boolean session = false;
        boolean rotation = false;
        long seed = 0;
        boolean zstd = false;
        boolean zstdPrefill = false;
        int group = 0;
        boolean mean = false;
        boolean ans = false;
        long tables = 0;
        boolean step = false;
        Set<String> seen = new HashSet<>();
        if (colon >= 0) {
            String options = s.substring(colon + 1);
            if (options.trim().isEmpty()) {
                throw new IllegalArgumentException("empty option list after ':' in '" + text + "'");
            }
            for (String option : options.split(",", -1)) {
                String o = option.trim();
                int eq = o.indexOf('=');
                String key = (eq < 0 ? o : o.substring(0, eq)).trim().toLowerCase(Locale.ROOT);
                String value = eq < 0 ? null : o.substring(eq + 1).trim();
                if (key.isEmpty()) {
                    throw new IllegalArgumentException("empty option in '" + text + "'");
                }
                if (!seen.add(key)) {
                    throw new IllegalArgumentException("option '" + key + "' given twice in '" + text + "'");
                }
                if (value != null && value.isEmpty()) {
                    throw new IllegalArgumentException("option '" + key + "' has an empty value");
                }
                switch (key) {
                    case "bits":
                        requireValue(key, value);
                        if (kind == CodecKind.UNIFORM) {
                            uniformBits = parseInt(key, value);
                        } else if (kind == CodecKind.TABQ) {
                            bitMask = parseBitSet(value);
                        } else {
                            throw new IllegalArgumentException("option 'bits' does not apply to " + kind.id());
                        }
                        break;
                    case "eps":
                        requireValue(key, value);
                        requireKind(key, kind, CodecKind.TABQ);
                        epsilon = parseFloat(key, value);
                        break;
                    case "tau":
                        requireValue(key, value);
                        requireKind(key, kind, CodecKind.TABQ);
                        tau = "inf".equalsIgnoreCase(value) ? Float.POSITIVE_INFINITY : parseFloat(key, value);
                        break;
                    case "channels":
                        requireValue(key, value);
                        requireKind(key, kind, CodecKind.TABQ);
                        if (!"session".equalsIgnoreCase(value)) {
                            throw new IllegalArgumentException("channels must be 'session', got '" + value + "'");
                        }
                        session = true;
                        break;
                    case "rot":
                        rotation = true;
                        seed = value == null ? DEFAULT_ROTATION_SEED : parseLong(key, value);
                        if (seed == 0) {
                            throw new IllegalArgumentException("rotation seed must be non-zero");
                        }
                        break;
                    case "zstd":
                        if (value != null && !"prefill".equalsIgnoreCase(value)) {
                            throw new IllegalArgumentException("option 'zstd' takes no value or 'prefill', got '" + value + "'");
                        }
                        zstd = true;
                        zstdPrefill = value != null;
                        break;
                    case "group":
                        requireValue(key, value);
                        requireKind(key, kind, CodecKind.TABQ);
                        group = parseInt(key, value);
                        if (group == 0) {
                            throw new IllegalArgumentException("group must be a power of two in " + MIN_GROUP + ".." + MAX_GROUP);
                        }
                        break;
                    case "mean":
                        requireNoValue(key, value);
                        requireKind(key, kind, CodecKind.TABQ);
                        mean = true;
                        break;
                    case "step":
                        requireNoValue(key, value);
                        requireKind(key, kind, CodecKind.TABQ);
                        step = true;
                        break;
                    case "ans":
                        requireNoValue(key, value);
                        requireKind(key, kind, CodecKind.TABQ);
                        ans = true;
                        break;
                    case "tables":
                        requireValue(key, value);
                        if (!value.matches("[0-9a-fA-F]{16}")) {
                            throw new IllegalArgumentException("tables must be 16 hex digits, got '" + value + "'");
                        }
                        tables = Long.parseUnsignedLong(value, 16);
                        if (tables == 0) {
                            throw new IllegalArgumentException("tables hash must be non-zero");
                        }
                        break;
                    default:
                        throw new IllegalArgumentException("unknown option '" + key + "' in '" + text
                                + "' (known: bits, eps, tau, channels, group, mean, rot, step, ans, tables, zstd)");
                }
            }
        }
        if (kind == CodecKind.UNIFORM && !seen.contains("bits")) {
            throw new IllegalArgumentException("uniform needs bits=B, e.g. uniform:bits=4");
        }
        if (step && !seen.contains("bits")) {
            bitMask = STEP_BIT_MASK;
        }
        return new CodecSpec(kind, uniformBits, epsilon, bitMask, tau, session, rotation, seed, zstd,
                group, mean, ans, zstdPrefill, tables, step);
    }

    /** The string form accepted by {@link #parse}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(kind.id());
        StringBuilder opts = new StringBuilder();
        if (kind == CodecKind.UNIFORM) {
            opts.append(",bits=").append(uniformBits);
        }
        if (kind == CodecKind.TABQ) {
            opts.append(",eps=").append(epsilon).append(",bits=");
            int[] widths = bitWidths();
            for (int i = 0; i < widths.length; i++) {
                opts.append(i == 0 ? "" : "/").append(widths[i]);
            }
            if (thresholdSplit()) {
                opts.append(",tau=").append(tau);
            }
            if (sessionChannels) {
                opts.append(",channels=session");
            }
            if (group != 0) {
                opts.append(",group=").append(group);
            }
            if (mean) {
                opts.append(",mean");
            }
        }
        if (rotation) {
            opts.append(rotationSeed == DEFAULT_ROTATION_SEED ? ",rot" : ",rot=" + rotationSeed);
        }
        if (step) {
            opts.append(",step");
        }
        if (ans) {
            opts.append(",ans");
        }
        if (tablesHash != 0) {
            opts.append(",tables=").append(CodecTables.hex(tablesHash));
        }
        if (zstd) {
            opts.append(zstdPrefillOnly ? ",zstd=prefill" : ",zstd");
        }
        if (opts.length() > 0) {
            sb.append(':').append(opts, 1, opts.length());
        }
        return sb.toString();
    }

    private static void requireValue(String key, String value) {
        if (value == null) {
            throw new IllegalArgumentException("option '" + key + "' needs a value (" + key + "=...)");
        }
    }

    private static void requireNoValue(String key, String value) {
        if (value != null) {
            throw new IllegalArgumentException("option '" + key + "' takes no value");
        }
    }

    private static void requireKind(String key, CodecKind kind, CodecKind wanted) {
        if (kind != wanted) {
            throw new IllegalArgumentException("option '" + key + "' only applies to " + wanted.id() + ", not " + kind.id());
        }
    }

    private static int parseBitSet(String value) {
        String[] parts = value.split("/", -1);
        if (parts.length > 8) {
            throw new IllegalArgumentException("at most 8 bit-widths, got '" + value + "'");
        }
        int[] widths = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            widths[i] = parseInt("bits", parts[i].trim());
        }
        return maskOf(widths);
    }

    private static int parseInt(String key, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option '" + key + "' needs an integer, got '" + value + "'");
        }
    }

    private static long parseLong(String key, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option '" + key + "' needs an integer, got '" + value + "'");
        }
    }

    private static float parseFloat(String key, String value) {
        // Float.parseFloat also accepts hex floats and "NaN"/"Infinity" and trailing 'f'/'d'; keep to decimals.
        if (!value.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?")) {
            throw new IllegalArgumentException("option '" + key + "' needs a decimal number, got '" + value + "'");
        }
        float f = Float.parseFloat(value);
        if (!Float.isFinite(f)) {
            throw new IllegalArgumentException("option '" + key + "' is out of range: '" + value + "'");
        }
        return f;
    }
}
