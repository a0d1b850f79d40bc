package dev.splitllm.quantization.codec;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The calibration data a {@code mean} or {@code ans} codec needs on both sides of the cut, for
 * one model and split layer: the per-channel mean of the hidden state, and one static
 * {@link RansTable} per bit-width of the codes that spec produces. Both sides load the same
 * bytes; the spec names them by {@link #hash()} ({@code tables=HEX16}), so frames and the
 * session request carry 8 bytes, never a table.
 *
 * <p>File (little-endian; docs/WIRE.md §7): "SPCT", u8 version 1, u8 flags (bit 0 mean, bit 1
 * rANS), u16 split layer, u32 d, u16 n + n bytes UTF-8 of the template spec it was calibrated
 * for; with mean: d × f32; with rANS: u8 bit set (bit w−1 = width w present), then for each
 * width present, ascending, 2^w × u16 frequencies. The hash is the first 8 bytes (little-endian)
 * of the SHA-256 of the file. Parsing checks every size before allocating.
 *
 * <p>Where tables come from: {@link #calibrate} on calibration activations (the eval harness and
 * {@code ./splitllm calibrate --codec-tables}); {@link #find} looks a hash up in the process
 * registry, then the class path ({@code /dev/splitllm/quantization/codec/tables/HEX.tables}),
 * then the cache folder ({@code codec-tables/HEX.tables} under {@code -Dsplitllm.cache}, else
 * {@code $XDG_CACHE_HOME/splitllm}, else {@code ~/.cache/splitllm}). Immutable.
 */
public final class CodecTables {
    /** File magic "SPCT". */
    public static final int MAGIC = 0x54435053;
    public static final int VERSION = 1;
    /** Largest file {@link #parse} accepts (d = 65535 mean plus every table fits well below). */
    public static final int MAX_BYTES = 1 << 20;
    private static final int FLAG_MEAN = 1, FLAG_ANS = 2;

    private static final Map<Long, CodecTables> REGISTRY = new ConcurrentHashMap<>();

    private final int splitLayer;
    private final int dim;
    private final String template;
    private final float[] mean;
    private final RansTable[] tables; // index = bit-width, null when absent
    private final byte[] bytes;
    private final long hash;

    /**
     * Tables for rows of {@code dim} values.
     *
     * @param template the spec they were calibrated for (informational)
     * @param mean     per-channel mean (length dim, finite), or null
     * @param tables   index = bit-width 1..8 (length 9), null entries absent; or null for none
     */
    public CodecTables(int splitLayer, int dim, String template, float[] mean, RansTable[] tables) {
        if (splitLayer < 0 || splitLayer > 0xffff || dim < 1 || dim > ActivationCodec.MAX_DIM) {
            throw new IllegalArgumentException("bad split layer " + splitLayer + " or dim " + dim);
        }
        if (mean == null && tables == null) {
            throw new IllegalArgumentException("codec tables need a mean or rANS tables");
        }
        if (mean != null) {
            if (mean.length != dim) {
                throw new IllegalArgumentException("mean has " + mean.length + " channels, need " + dim);
            }
            for (float v : mean) {
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("mean holds a non-finite value");
                }
            }
        }
        if (tables != null) {
            if (tables.length != 9) {
                throw new IllegalArgumentException("rANS tables are indexed by bit-width 0..8");
            }
            for (int w = 1; w <= 8; w++) {
                if (tables[w] != null && tables[w].bits() != w) {
                    throw new IllegalArgumentException("table at index " + w + " is for " + tables[w].bits() + " bits");
                }
            }
        }
        byte[] t = (template == null ? "" : template).getBytes(StandardCharsets.UTF_8);
        if (t.length > 0xffff) {
            throw new IllegalArgumentException("template spec too long");
        }
        this.splitLayer = splitLayer;
        this.dim = dim;
        this.template = template == null ? "" : template;
        this.mean = mean == null ? null : mean.clone();
        this.tables = tables == null ? null : tables.clone();
        this.bytes = serialize();
        this.hash = hashOf(bytes);
    }

    public int splitLayer() {
        return splitLayer;
    }

    public int dim() {
        return dim;
    }

    /** The spec these tables were calibrated for (informational). */
    public String template() {
        return template;
    }

    /** True when a per-channel mean is present. */
    public boolean hasMean() {
        return mean != null;
    }

    /** Mean of channel c (0 when absent). */
    float mean(int c) {
        return mean == null ? 0f : mean[c];
    }

    /** The mean array itself (not a copy; the codec only reads it), or null. */
    float[] meanArray() {
        return mean;
    }

    /** The rANS table for {@code bits}-bit codes, or null. */
    public RansTable table(int bits) {
        return tables == null || bits < 1 || bits > 8 ? null : tables[bits];
    }

    /** 64-bit identity: the first 8 bytes of the SHA-256 of {@link #toBytes()}, never 0. */
    public long hash() {
        return hash;
    }

    /** The file bytes (a copy). */
    public byte[] toBytes() {
        return bytes.clone();
    }

    /**
     * Checks that these tables serve {@code spec} on rows of {@code d} values: same hash, a mean
     * when the spec removes it, a rANS table for each of its bit-widths when it codes with rANS.
     */
    public void checkServes(CodecSpec spec, int d) {
        if (spec.tablesHash() != hash) {
            throw new IllegalArgumentException("spec names tables " + hex(spec.tablesHash()) + ", these are " + hex(hash));
        }
        if (d != dim) {
            throw new IllegalArgumentException("codec tables " + hex(hash) + " are for d = " + dim + ", not " + d);
        }
        if (spec.mean() && mean == null) {
            throw new IllegalArgumentException("codec tables " + hex(hash) + " hold no mean");
        }
        if (spec.ans()) {
            for (int w : spec.bitWidths()) {
                if (table(w) == null) {
                    throw new IllegalArgumentException("codec tables " + hex(hash) + " hold no rANS table for " + w + " bits");
                }
            }
        }
    }

    /**
     * Calibrates tables for {@code template} (a tabq spec with mean and/or ans, any tables hash)
     * on {@code tokens × dim} activations: the mean of each channel, then the histogram of the
     * codes each bit-width produces when those rows are encoded with {@code template} (one frame
     * per row, as decode frames go), turned into rANS frequencies.
     */
    public static CodecTables calibrate(CodecSpec template, int splitLayer, float[] x, int tokens, int dim) {
        if (!template.needsTables()) {
            throw new IllegalArgumentException(template + " needs no codec tables");
        }
        if (tokens < 1 || (long) tokens * dim > x.length) {
            throw new IllegalArgumentException("need tokens >= 1 and " + tokens + "x" + dim + " activations");
        }
        CodecSpec plain = template.withTables(0);
        float[] mean = null;
        if (template.mean()) {
            double[] sum = new double[dim];
            for (int t = 0; t < tokens; t++) {
                for (int c = 0; c < dim; c++) {
                    sum[c] += x[t * dim + c];
                }
            }
            mean = new float[dim];
            for (int c = 0; c < dim; c++) {
                mean[c] = (float) (sum[c] / tokens);
            }
        }
        if (!template.ans()) {
            return new CodecTables(splitLayer, dim, plain.toString(), mean, null);
        }
        // Count with provisional tables: the calibrated mean and uniform rANS tables (any table codes
        // every symbol; only the symbols matter here).
        RansTable[] uniform = new RansTable[9];
        for (int w : plain.bitWidths()) {
            uniform[w] = RansTable.fromCounts(w, new long[1 << w]);
        }
        CodecTables provisional = new CodecTables(splitLayer, dim, plain.toString(), mean, uniform);
        CodecSpec base = new CodecSpec(plain.kind(), 0, plain.epsilon(), plain.bitMask(), plain.tau(), plain.sessionChannels(),
                plain.rotation(), plain.rotationSeed(), false, plain.group(), plain.mean(), true, false, 0L, plain.step());
        CodecSpec counting = base.withTables(provisional.hash());
        long[][] counts = new long[9][];
        for (int w : plain.bitWidths()) {
            counts[w] = new long[1 << w];
        }
        ActivationCodec codec = new ActivationCodec();
        codec.countSymbols(counts);
        OutlierChannels channels = plain.sessionChannels() ? OutlierChannels.select(x, tokens, dim, plain.tau()) : null;
        float[] row = new float[dim];
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(x, t * dim, row, 0, dim);
            codec.encode(counting, row, 1, dim, channels, provisional);
        }
        RansTable[] tables = new RansTable[9];
        for (int w : plain.bitWidths()) {
            tables[w] = RansTable.fromCounts(w, counts[w]);
        }
        return new CodecTables(splitLayer, dim, plain.toString(), mean, tables);
    }

    private byte[] serialize() {
        ByteWriter out = new ByteWriter(64 + 4 * dim);
        out.i32(MAGIC);
        out.u8(VERSION);
        out.u8((mean != null ? FLAG_MEAN : 0) | (tables != null ? FLAG_ANS : 0));
        out.u16(splitLayer);
        out.i32(dim);
        byte[] t = template.getBytes(StandardCharsets.UTF_8);
        out.u16(t.length);
        out.bytes(t, 0, t.length);
        if (mean != null) {
            for (float v : mean) {
                out.f32(v);
            }
        }
        if (tables != null) {
            int set = 0;
            for (int w = 1; w <= 8; w++) {
                set |= tables[w] != null ? 1 << (w - 1) : 0;
            }
            out.u8(set);
            for (int w = 1; w <= 8; w++) {
                if (tables[w] != null) {
                    for (int f : tables[w].frequencies()) {
                        out.u16(f);
                    }
                }
            }
        }
        return out.toByteArray();
    }

    /** Parses a tables file; every size is checked before it is allocated. */
    public static CodecTables parse(byte[] b) throws CorruptPayloadException {
        if (b == null || b.length > MAX_BYTES) {
            throw new CorruptPayloadException("codec tables missing or above " + MAX_BYTES + " bytes");
        }
        ByteReader in = new ByteReader(b, 0, b.length);
        if (in.i32("magic") != MAGIC) {
            throw new CorruptPayloadException("not a codec tables file (magic)");
        }
        int version = in.u8("version");
        if (version != VERSION) {
            throw new CorruptPayloadException("codec tables version " + version + ", this reader speaks " + VERSION);
        }
        int flags = in.u8("flags");
        if ((flags & ~(FLAG_MEAN | FLAG_ANS)) != 0 || flags == 0) {
            throw new CorruptPayloadException("codec tables flags 0x" + Integer.toHexString(flags));
        }
        int split = in.u16("split layer");
        long dim = in.u32("dim");
        if (dim < 1 || dim > ActivationCodec.MAX_DIM) {
            throw new CorruptPayloadException("codec tables dim " + dim);
        }
        int tlen = in.u16("template length");
        int tat = in.skip(tlen, "template");
        String template = new String(b, tat, tlen, StandardCharsets.UTF_8);
        float[] mean = null;
        if ((flags & FLAG_MEAN) != 0) {
            in.require(4 * dim, "mean");
            mean = new float[(int) dim];
            for (int c = 0; c < dim; c++) {
                mean[c] = in.f32("mean");
                if (!Float.isFinite(mean[c])) {
                    throw new CorruptPayloadException("mean of channel " + c + " is not finite");
                }
            }
        }
        RansTable[] tables = null;
        if ((flags & FLAG_ANS) != 0) {
            int set = in.u8("bit set");
            if (set == 0) {
                throw new CorruptPayloadException("rANS flag set but no table");
            }
            tables = new RansTable[9];
            for (int w = 1; w <= 8; w++) {
                if ((set & 1 << (w - 1)) == 0) {
                    continue;
                }
                in.require(2L << w, "rANS table");
                int[] f = new int[1 << w];
                for (int s = 0; s < f.length; s++) {
                    f[s] = in.u16("frequency");
                }
                try {
                    tables[w] = new RansTable(w, f);
                } catch (IllegalArgumentException e) {
                    throw new CorruptPayloadException(e.getMessage());
                }
            }
        }
        if (in.remaining() != 0) {
            throw new CorruptPayloadException(in.remaining() + " trailing bytes in codec tables");
        }
        return new CodecTables(split, (int) dim, template, mean, tables);
    }

    /** Makes {@code t} findable by its hash in this process; returns it. */
    public static CodecTables register(CodecTables t) {
        REGISTRY.putIfAbsent(t.hash(), t);
        return t;
    }

    /**
     * The tables with {@code hash}: registered, on the class path, or in the cache folder.
     *
     * @throws IllegalArgumentException when none is found (the message says where it looked)
     */
    public static CodecTables find(long hash) {
        CodecTables t = REGISTRY.get(hash);
        if (t != null) {
            return t;
        }
        String name = hex(hash) + ".tables";
        try (InputStream in = CodecTables.class.getResourceAsStream("tables/" + name)) {
            if (in != null) {
                return register(checked(parse(readAtMost(in, MAX_BYTES + 1)), hash, "class path"));
            }
        } catch (IOException | CorruptPayloadException e) {
            throw new IllegalArgumentException("codec tables " + name + " on the class path: " + e.getMessage(), e);
        }
        Path dir = cacheFolder();
        if (dir != null) {
            Path file = dir.resolve(name);
            if (Files.isRegularFile(file)) {
                try {
                    return register(checked(load(file), hash, file.toString()));
                } catch (IOException e) {
                    throw new IllegalArgumentException("codec tables " + file + ": " + e.getMessage(), e);
                }
            }
        }
        throw new IllegalArgumentException("codec tables " + hex(hash) + " not found (registered, class path, "
                + (dir == null ? "no cache folder" : dir) + "); run ./splitllm calibrate --codec-tables or copy " + name + " there");
    }

    /** Reads and parses a tables file. */
    public static CodecTables load(Path file) throws IOException {
        if (Files.size(file) > MAX_BYTES) {
            throw new IOException(file + " is larger than " + MAX_BYTES + " bytes");
        }
        try {
            return parse(Files.readAllBytes(file));
        } catch (CorruptPayloadException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** Writes these tables as {@code HEX.tables} into {@code dir}; returns the file. */
    public Path save(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(hex(hash) + ".tables");
        Path tmp = dir.resolve(hex(hash) + ".tables.tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return file;
    }

    /** {@code codec-tables} under the splitllm cache folder, or null when there is no home. */
    public static Path cacheFolder() {
        String prop = System.getProperty("splitllm.cache");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop, "codec-tables");
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "splitllm", "codec-tables");
        }
        String home = System.getProperty("user.home");
        return home == null || home.isBlank() ? null : Path.of(home, ".cache", "splitllm", "codec-tables");
    }

    /** 16 lower-case hex digits. */
    public static String hex(long hash) {
        return String.format(java.util.Locale.ROOT, "%016x", hash);
    }

    /** InputStream.readNBytes is Java 11 / Android 33; this is the plain loop. */
    private static byte[] readAtMost(InputStream in, int max) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while (out.size() < max && (n = in.read(buf, 0, Math.min(buf.length, max - out.size()))) > 0) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    private static CodecTables checked(CodecTables t, long hash, String where) {
        if (t.hash() != hash) {
            throw new IllegalArgumentException("codec tables in " + where + " hash to " + hex(t.hash()) + ", not " + hex(hash));
        }
        return t;
    }

    private static long hashOf(byte[] b) {
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing", e);
        }
        long h = 0;
        for (int i = 7; i >= 0; i--) {
            h = h << 8 | (digest[i] & 0xff);
        }
        return h == 0 ? 1 : h;
    }

    @Override
    public String toString() {
        return "codec tables " + hex(hash) + " (split " + splitLayer + ", d " + dim + (mean != null ? ", mean" : "")
                + (tables != null ? ", rANS" : "") + ", for " + template + ")";
    }
}
