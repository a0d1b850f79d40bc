package dev.splitllm.engine.gguf;

import dev.splitllm.engine.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed GGUF file (versions 2 and 3, little-endian): the header's metadata and tensor
 * infos, fully validated, with tensor data mapped on demand one tensor at a time
 * ({@link #tensorData}), so files larger than one mapping (2 GiB) work.
 *
 * <p>Layout: magic {@code GGUF}, uint32 version, uint64 tensor count, uint64 metadata count,
 * the metadata key/values, the tensor infos (name, n_dims, dims innermost first, type,
 * offset), padding to {@code general.alignment} (default 32), then the data section; every
 * tensor offset is relative to it and aligned. Validation covers the magic and version, every
 * count and length against the bytes left, value types, duplicate keys and names, dimension
 * products, block divisibility, alignment, and every tensor lying inside the file.
 */
public final class GgufFile implements AutoCloseable {
    /** "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    public static final int DEFAULT_ALIGNMENT = 32;
    /** Most tensors accepted in one file. */
    public static final long MAX_TENSORS = 1 << 20;
    /** Most metadata entries accepted. */
    public static final long MAX_METADATA = 1 << 20;
    /** Largest element count of one tensor (2^40). */
    public static final long MAX_ELEMENTS = 1L << 40;

    private final Path path;
    private final FileChannel channel;
    private final long fileSize;
    private final int version;
    private final int alignment;
    private final long dataStart;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensorInfo> tensors;

    private GgufFile(Path path, FileChannel channel, long fileSize, int version, int alignment, long dataStart,
                     Map<String, GgufValue> metadata, Map<String, GgufTensorInfo> tensors) {
        this.path = path;
        this.channel = channel;
        this.fileSize = fileSize;
        this.version = version;
        this.alignment = alignment;
        this.dataStart = dataStart;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** True when the first four bytes of {@code file} are the GGUF magic. */
    public static boolean hasMagic(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b) >= 0) { }
            return !b.hasRemaining() && b.getInt(0) == MAGIC;
        }
    }

    /** Opens and validates {@code file}; the caller closes it. */
    public static GgufFile open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return parse(file, ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static GgufFile parse(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        String name = file.toString();
        if (size < 24) {
            throw new ModelFormatException(name + ": too short for a GGUF header (" + size + " bytes)");
        }
        ByteBuffer head = ch.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(size, Integer.MAX_VALUE - 8));
        GgufCursor c = new GgufCursor(head, name);
        int magic = (int) c.u32("magic");
        if (magic != MAGIC) {
            throw new ModelFormatException(name + ": not a GGUF file (magic 0x" + Integer.toHexString(magic) + ")");
        }
        long version = c.u32("version");
        if (version == 1) {
            throw new ModelFormatException(name + ": GGUF version 1 is not supported (re-convert the model; versions 2 and 3 are)");
        }
        if (version != 2 && version != 3) {
            throw new ModelFormatException(name + ": unsupported GGUF version " + version
                    + (Integer.reverseBytes((int) version) == 3 || Integer.reverseBytes((int) version) == 2
                    ? " (a big-endian GGUF; only little-endian files are supported)" : " (expected 2 or 3)"));
        }
        long nTensors = c.count("tensor count", MAX_TENSORS, 32);
        long nKv = c.count("metadata count", MAX_METADATA, 13);
        Map<String, GgufValue> meta = new LinkedHashMap<>();
        for (long i = 0; i < nKv; i++) {
            String key = c.string("metadata key " + i, GgufCursor.MAX_NAME);
            long typeId = c.u32(key + " type");
            GgufValueType type = GgufValueType.byId(typeId);
            if (type == null) {
                throw c.error("metadata '" + key + "' has unknown value type " + typeId);
            }
            GgufValue v = c.value(type, key, 0);
            if (meta.put(key, v) != null) {
                throw c.error("duplicate metadata key '" + key + "'");
            }
        }
        int alignment = DEFAULT_ALIGNMENT;
        GgufValue al = meta.get("general.alignment");
        if (al != null) {
            long a = al.type().isInteger() && al.type() != GgufValueType.ARRAY ? (Long) al.value() : -1;
            if (a <= 0 || a > (1 << 20) || Long.bitCount(a) != 1) {
                throw new ModelFormatException(name + ": general.alignment " + al + " is not a power of two in [1, 2^20]");
            }
            alignment = (int) a;
        }
        Map<String, GgufTensorInfo> infos = new LinkedHashMap<>();
        for (long i = 0; i < nTensors; i++) {
            GgufTensorInfo t = tensorInfo(c, i, alignment);
            if (infos.put(t.name(), t) != null) {
                throw c.error("duplicate tensor name '" + t.name() + "'");
            }
        }
        long dataStart = alignUp(c.position(), alignment);
        if (dataStart > size) {
            throw new ModelFormatException(name + ": truncated: data section would start at " + dataStart
                    + ", past the end of the file (" + size + " bytes)");
        }
        for (GgufTensorInfo t : infos.values()) {
            long end = dataStart + t.offset() + t.byteSize();
            if (t.offset() > size || end > size) {
                throw new ModelFormatException(name + ": tensor '" + t.name() + "' (" + t.byteSize() + " bytes at data offset "
                        + t.offset() + ") extends past the end of the file (" + size + " bytes)");
            }
        }
        return new GgufFile(file, ch, size, (int) version, alignment, dataStart, meta, infos);
    }

    private static GgufTensorInfo tensorInfo(GgufCursor c, long index, int alignment) throws ModelFormatException {
        String tname = c.string("tensor " + index + " name", GgufCursor.MAX_NAME);
        long nDims = c.u32(tname + " n_dims");
        if (nDims < 1 || nDims > 4) {
            throw c.error("tensor '" + tname + "' has " + nDims + " dimensions (expected 1 to 4)");
        }
        long[] shape = new long[(int) nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++) {
            shape[d] = c.i64(tname + " dim " + d);
            if (shape[d] <= 0 || shape[d] > MAX_ELEMENTS) {
                throw c.error("tensor '" + tname + "' has invalid dimension " + d + " = " + Long.toUnsignedString(shape[d]));
            }
            if (elements > MAX_ELEMENTS / shape[d]) {
                throw c.error("tensor '" + tname + "' has more than 2^40 elements");
            }
            elements *= shape[d];
        }
        long typeId = c.u32(tname + " type");
        GgmlType type = GgmlType.byId(typeId);
        if (type == null) {
            throw c.error("tensor '" + tname + "' has unknown ggml type " + typeId);
        }
        if (shape[0] % type.blockSize != 0) {
            throw c.error("tensor '" + tname + "': row length " + shape[0] + " is not a multiple of " + type
                    + "'s block size " + type.blockSize);
        }
        long offset = c.i64(tname + " offset");
        if (offset < 0 || offset % alignment != 0) {
            throw c.error("tensor '" + tname + "' offset " + Long.toUnsignedString(offset) + " is not a multiple of the alignment " + alignment);
        }
        return new GgufTensorInfo(tname, shape, type, offset);
    }

    private static long alignUp(long p, int alignment) {
        return (p + alignment - 1) / alignment * alignment;
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public int alignment() {
        return alignment;
    }

    /** Absolute file offset of the data section. */
    public long dataStart() {
        return dataStart;
    }

    public long fileSize() {
        return fileSize;
    }

    /** All metadata, in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** All tensor infos, in file order. */
    public List<GgufTensorInfo> tensors() {
        return List.copyOf(tensors.values());
    }

    /** The tensor named {@code name}, or null. */
    public GgufTensorInfo tensor(String name) {
        return tensors.get(name);
    }

    /** The tensor named {@code name}; throws naming it when absent. */
    public GgufTensorInfo requireTensor(String name) throws ModelFormatException {
        GgufTensorInfo t = tensors.get(name);
        if (t == null) {
            throw new ModelFormatException(path + ": missing tensor '" + name + "'");
        }
        return t;
    }

    /** A read-only little-endian mapping of one tensor's data. */
    public ByteBuffer tensorData(GgufTensorInfo t) throws IOException {
        long bytes = t.byteSize();
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(path + ": tensor '" + t.name() + "' has " + bytes + " bytes, too large for one array");
        }
        return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.offset(), bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    // ---- typed metadata access, with errors that name the key ---------------------------------

    /** The value under {@code key}, or null. */
    public GgufValue get(String key) {
        return metadata.get(key);
    }

    /** An integer value; {@code dflt} when absent. */
    public long getLong(String key, long dflt) throws ModelFormatException {
        GgufValue v = metadata.get(key);
        if (v == null) return dflt;
        if (!v.type().isInteger()) throw typeError(key, v, "an integer");
        return (Long) v.value();
    }

    /** An integer value that must be present and in [min, max]. */
    public int requireInt(String key, long min, long max) throws ModelFormatException {
        GgufValue v = metadata.get(key);
        if (v == null) throw new ModelFormatException(path + ": missing metadata '" + key + "'");
        long x = getLong(key, 0);
        if (x < min || x > max) {
            throw new ModelFormatException(path + ": metadata '" + key + "' = " + x + " is out of range [" + min + ", " + max + "]");
        }
        return (int) x;
    }

    /** A float value (either float type); {@code dflt} when absent. */
    public double getDouble(String key, double dflt) throws ModelFormatException {
        GgufValue v = metadata.get(key);
        if (v == null) return dflt;
        if (v.type() != GgufValueType.FLOAT32 && v.type() != GgufValueType.FLOAT64) throw typeError(key, v, "a float");
        return (Double) v.value();
    }

    /** A string value; {@code dflt} when absent. */
    public String getString(String key, String dflt) throws ModelFormatException {
        GgufValue v = metadata.get(key);
        if (v == null) return dflt;
        if (v.type() != GgufValueType.STRING) throw typeError(key, v, "a string");
        return (String) v.value();
    }

    /** A boolean value; {@code dflt} when absent. */
    public boolean getBool(String key, boolean dflt) throws ModelFormatException {
        GgufValue v = metadata.get(key);
        if (v == null) return dflt;
        if (v.type() != GgufValueType.BOOL) throw typeError(key, v, "a boolean");
        return (Boolean) v.value();
    }

    /** A string array; null when absent. */
    public String[] getStrings(String key) throws ModelFormatException {
        GgufValue v = metadata.get(key);
        if (v == null) return null;
        if (v.elementType() != GgufValueType.STRING) throw typeError(key, v, "an array of strings");
        return (String[]) v.value();
    }

    /** A float array; null when absent. */
    public double[] getDoubles(String key) throws ModelFormatException {
        GgufValue v = metadata.get(key);
        if (v == null) return null;
        if (v.elementType() != GgufValueType.FLOAT32 && v.elementType() != GgufValueType.FLOAT64) {
            throw typeError(key, v, "an array of floats");
        }
        return (double[]) v.value();
    }

    /** An integer array; null when absent. */
    public long[] getLongs(String key) throws ModelFormatException {
        GgufValue v = metadata.get(key);
        if (v == null) return null;
        if (v.elementType() == null || !v.elementType().isInteger()) throw typeError(key, v, "an array of integers");
        return (long[]) v.value();
    }

    private ModelFormatException typeError(String key, GgufValue v, String expected) {
        return new ModelFormatException(path + ": metadata '" + key + "' is " + v + ", expected " + expected);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
