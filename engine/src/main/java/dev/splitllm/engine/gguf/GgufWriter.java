package dev.splitllm.engine.gguf;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF version 3 file: metadata key/values of any {@link GgufValueType}, then tensor
 * infos, then the tensor data, each tensor aligned to {@code general.alignment} (32 unless the
 * metadata says otherwise). Tensor bytes are produced by a {@link TensorData} callback at write
 * time, one tensor at a time, so a whole model never has to be in memory at once.
 */
public final class GgufWriter {
    /** Produces a tensor's raw bytes (ggml layout) when the writer reaches it. */
    @FunctionalInterface
    public interface TensorData {
        byte[] bytes() throws IOException;
    }

    private record Entry(String name, long[] shape, GgmlType type, TensorData data) {}

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Entry> tensors = new ArrayList<>();

    /** Adds (or replaces) a metadata entry. */
    public GgufWriter put(String key, GgufValue value) {
        metadata.put(key, value);
        return this;
    }

    /**
     * Adds a tensor of {@code shape} (innermost dimension first, GGUF order) whose bytes
     * {@code data} will produce; their count is checked at write time.
     */
    public GgufWriter tensor(String name, long[] shape, GgmlType type, TensorData data) {
        for (Entry e : tensors) {
            if (e.name.equals(name)) throw new IllegalArgumentException("duplicate tensor " + name);
        }
        if (shape.length < 1 || shape.length > 4 || shape[0] % type.blockSize != 0) {
            throw new IllegalArgumentException(name + ": invalid shape " + java.util.Arrays.toString(shape) + " for " + type);
        }
        tensors.add(new Entry(name, shape.clone(), type, data));
        return this;
    }

    /** Writes the file. */
    public void write(Path out) throws IOException {
        int alignment = GgufFile.DEFAULT_ALIGNMENT;
        GgufValue al = metadata.get("general.alignment");
        if (al != null) alignment = (int) (long) (Long) al.value();
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out), 1 << 20)) {
            GgufSink s = new GgufSink(os);
            s.u32(GgufFile.MAGIC);
            s.u32(3);
            s.u64(tensors.size());
            s.u64(metadata.size());
            for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
                s.string(e.getKey());
                s.u32(e.getValue().type().id);
                s.value(e.getValue());
            }
            long offset = 0;
            long[] offsets = new long[tensors.size()];
            for (int i = 0; i < tensors.size(); i++) {
                Entry t = tensors.get(i);
                s.string(t.name);
                s.u32(t.shape.length);
                for (long d : t.shape) s.u64(d);
                s.u32(t.type.id);
                s.u64(offset);
                offsets[i] = offset;
                offset = align(offset + bytes(t), alignment);
            }
            s.pad(alignment);
            long dataStart = s.written();
            for (int i = 0; i < tensors.size(); i++) {
                Entry t = tensors.get(i);
                byte[] b = t.data.bytes();
                if (b.length != bytes(t)) {
                    throw new IOException(t.name + ": " + b.length + " bytes given, " + bytes(t) + " expected for "
                            + t.type + java.util.Arrays.toString(t.shape));
                }
                if (s.written() - dataStart != offsets[i]) throw new IllegalStateException("offset drift at " + t.name);
                s.bytes(b);
                s.pad(alignment);
            }
        }
    }

    private static long bytes(Entry t) {
        long n = 1;
        for (long d : t.shape) n *= d;
        return n / t.type.blockSize * t.type.blockBytes;
    }

    private static long align(long p, int a) {
        return (p + a - 1) / a * a;
    }

    /** Little-endian primitive output, counting bytes. */
}
