package dev.splitllm.tools.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes one {@code .safetensors} file: the JSON header (dtype, shape, data_offsets per tensor,
 * plus {@code __metadata__: {format: pt}}), padded with spaces to a multiple of 8 bytes, then
 * the tensors' bytes back to back. Bytes are produced by callbacks at write time, one tensor at
 * a time.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Entry(String name, String dtype, long[] shape, long bytes, TensorSource data) {}

    /** Produces a tensor's little-endian bytes. */
    @FunctionalInterface
    public interface TensorSource {
        byte[] bytes() throws IOException;
    }

    private final List<Entry> entries = new ArrayList<>();

    /** Adds a tensor ({@code dtype} F32, F16 or BF16; shape outermost first). */
    public SafetensorsWriter tensor(String name, String dtype, long[] shape, TensorSource data) {
        int eb = dtype.equals("F32") ? 4 : dtype.equals("F16") || dtype.equals("BF16") ? 2 : -1;
        if (eb < 0) throw new IllegalArgumentException(name + ": dtype " + dtype + " is not written (F32, F16, BF16)");
        long n = eb;
        for (long d : shape) n *= d;
        entries.add(new Entry(name, dtype, shape.clone(), n, data));
        return this;
    }

    public void write(Path out) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long off = 0;
        for (Entry e : entries) {
            ObjectNode t = header.putObject(e.name);
            t.put("dtype", e.dtype);
            var shape = t.putArray("shape");
            for (long d : e.shape) shape.add(d);
            t.putArray("data_offsets").add(off).add(off + e.bytes);
            off += e.bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        byte[] h = java.util.Arrays.copyOf(json, padded);
        java.util.Arrays.fill(h, json.length, padded, (byte) ' ');
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out), 1 << 20)) {
            os.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            os.write(h);
            for (Entry e : entries) {
                byte[] b = e.data.bytes();
                if (b.length != e.bytes) {
                    throw new IOException(e.name + ": " + b.length + " bytes given, " + e.bytes + " expected");
                }
                os.write(b);
            }
        }
    }
}
