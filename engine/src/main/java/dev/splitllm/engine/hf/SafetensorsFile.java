package dev.splitllm.engine.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.engine.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A parsed {@code .safetensors} file: an 8-byte little-endian header length N, N bytes of JSON
 * ({@code name -> {dtype, shape, data_offsets: [begin, end)}} plus optional
 * {@code __metadata__}), then the data; offsets are relative to the data start. The header is
 * bounded (100 MB, as the reference implementation), every entry is checked (known dtype,
 * non-negative shape, byte count matching the shape, range inside the file) and data is mapped
 * one tensor at a time.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest header accepted. */
    public static final long MAX_HEADER = 100L << 20;

    /** One tensor entry. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, Entry> entries) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = Collections.unmodifiableMap(entries);
    }

    /** Bytes per element of a safetensors dtype, or -1 when unknown. */
    public static int dtypeBytes(String dtype) {
        switch (dtype) {
            case "F64": case "I64": case "U64": return 8;
            case "F32": case "I32": case "U32": return 4;
            case "F16": case "BF16": case "I16": case "U16": return 2;
            case "I8": case "U8": case "BOOL": case "F8_E4M3": case "F8_E5M2": return 1;
            default: return -1;
        }
    }

    public static SafetensorsFile open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return parse(file, ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static SafetensorsFile parse(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new ModelFormatException(file + ": too short for a safetensors header (" + size + " bytes)");
        }
        ByteBuffer lenBuf = ch.map(FileChannel.MapMode.READ_ONLY, 0, 8).order(ByteOrder.LITTLE_ENDIAN);
        long n = lenBuf.getLong(0);
        if (n < 2 || n > MAX_HEADER || n > size - 8) {
            throw new ModelFormatException(file + ": safetensors header length " + Long.toUnsignedString(n)
                    + " is invalid (file has " + size + " bytes, limit " + MAX_HEADER + ")");
        }
        byte[] header = new byte[(int) n];
        ch.map(FileChannel.MapMode.READ_ONLY, 8, n).get(header);
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (IOException e) {
            throw new ModelFormatException(file + ": safetensors header is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(file + ": safetensors header is not a JSON object");
        }
        long dataStart = 8 + n, dataSize = size - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            if (name.equals("__metadata__")) continue;
            JsonNode t = e.getValue();
            String dtype = t.path("dtype").asText("");
            int eb = dtypeBytes(dtype);
            if (eb < 0) {
                throw new ModelFormatException(file + ": tensor '" + name + "' has unknown dtype '" + dtype + "'");
            }
            JsonNode shapeNode = t.path("shape"), offs = t.path("data_offsets");
            if (!shapeNode.isArray() || shapeNode.size() > 8 || !offs.isArray() || offs.size() != 2) {
                throw new ModelFormatException(file + ": tensor '" + name + "' lacks a valid shape or data_offsets");
            }
            long[] shape = new long[shapeNode.size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = shapeNode.get(i);
                if (!d.canConvertToLong() || d.asLong() < 0 || d.asLong() > (1L << 40)) {
                    throw new ModelFormatException(file + ": tensor '" + name + "' has invalid dimension " + d);
                }
                shape[i] = d.asLong();
                elements = shape[i] == 0 ? 0 : Math.multiplyExact(elements, shape[i]);
                if (elements > (1L << 40)) {
                    throw new ModelFormatException(file + ": tensor '" + name + "' has more than 2^40 elements");
                }
            }
            long begin = offs.get(0).asLong(-1), end = offs.get(1).asLong(-1);
            if (!offs.get(0).canConvertToLong() || !offs.get(1).canConvertToLong() || begin < 0 || end < begin || end > dataSize) {
                throw new ModelFormatException(file + ": tensor '" + name + "' data_offsets " + offs
                        + " lie outside the data section (" + dataSize + " bytes)");
            }
            if (end - begin != elements * eb) {
                throw new ModelFormatException(file + ": tensor '" + name + "' has " + (end - begin) + " bytes, but "
                        + dtype + java.util.Arrays.toString(shape) + " needs " + elements * eb);
            }
            entries.put(name, new Entry(name, dtype, shape, begin, end));
        }
        return new SafetensorsFile(file, ch, dataStart, entries);
    }

    public Path path() {
        return path;
    }

    /** Tensor entries by name, in header order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    /** A read-only little-endian mapping of one tensor's bytes. */
    public ByteBuffer data(Entry e) throws IOException {
        long n = e.end() - e.begin();
        if (n > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(path + ": tensor '" + e.name() + "' has " + n + " bytes, too large for one array");
        }
        return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), n).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
