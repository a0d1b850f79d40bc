package dev.splitllm.engine.model;

import dev.splitllm.engine.ModelFormatException;

import dev.splitllm.engine.tensor.F32Matrix;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reader for karpathy/llama2.c legacy checkpoints (version 0): a header of 7 little-endian
 * int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len), then fp32
 * tensors grouped by kind across all layers: token_embedding, rms_att, wq, wk, wv, wo, rms_ffn,
 * w1, w2, w3, rms_final, freq_cis_real, freq_cis_imag, and, when vocab_size is negative, a
 * separate classifier. Only the tensors of the requested {@link ModelSlice} are read.
 */
public final class Llama2cCheckpoint {
    private Llama2cCheckpoint() {}

    public static final int HEADER_BYTES = 28;

    /** Reads only the header; validates it against the file size. */
    public static LlamaConfig readConfig(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readConfig(ch, file);
        }
    }

    private static LlamaConfig readConfig(FileChannel ch, Path file) throws IOException {
        long size = ch.size();
        if (size < HEADER_BYTES) {
            throw new ModelFormatException(file + ": too short for a llama2.c checkpoint header (" + size + " bytes)");
        }
        ByteBuffer header = read(ch, 0, HEADER_BYTES);
        int dim = header.getInt(), hidden = header.getInt(), layers = header.getInt(), heads = header.getInt();
        int kvHeads = header.getInt(), vocab = header.getInt(), seqLen = header.getInt();
        boolean shared = vocab > 0;
        LlamaConfig config;
        try {
            config = new LlamaConfig(dim, hidden, layers, heads, kvHeads, Math.abs(vocab), seqLen, 10000f, 1e-5f, shared);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": not a llama2.c checkpoint (" + e.getMessage() + ")");
        }
        long expected = HEADER_BYTES + 4 * totalFloats(config);
        if (size != expected) {
            throw new ModelFormatException(file + ": size " + size + " bytes does not match the header, which implies "
                    + expected + " bytes (" + (size < expected ? "truncated file" : "trailing data") + ")");
        }
        return config;
    }

    /** Number of fp32 values after the header. */
    static long totalFloats(LlamaConfig c) {
        long d = c.dim(), l = c.nLayers(), kv = c.kvDim(), h = c.hiddenDim(), v = c.vocabSize();
        long n = v * d + l * d + l * d * d + 2 * l * d * kv + l * d * d + l * d + 3 * l * d * h + d
                + (long) c.seqLen() * c.headSize(); // freq_cis real + imag: seq_len * head_size/2 each
        if (!c.sharedClassifier()) n += v * d;
        return n;
    }

    /** Loads the tensors of {@code slice} as F32. */
    public static ModelWeights load(Path file, ModelSlice slice) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            LlamaConfig c = readConfig(ch, file);
            try {
                slice.checkAgainst(c.nLayers());
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(file + ": " + e.getMessage());
            }
            int d = c.dim(), kv = c.kvDim(), h = c.hiddenDim(), nl = c.nLayers();
            long pos = HEADER_BYTES;
            long embOff = pos;
            pos += 4L * c.vocabSize() * d;
            long rmsAttOff = pos; pos += 4L * nl * d;
            long wqOff = pos; pos += 4L * nl * d * d;
            long wkOff = pos; pos += 4L * nl * d * kv;
            long wvOff = pos; pos += 4L * nl * d * kv;
            long woOff = pos; pos += 4L * nl * d * d;
            long rmsFfnOff = pos; pos += 4L * nl * d;
            long w1Off = pos; pos += 4L * nl * d * h;
            long w2Off = pos; pos += 4L * nl * h * d;
            long w3Off = pos; pos += 4L * nl * d * h;
            long rmsFinalOff = pos; pos += 4L * d;
            pos += 4L * c.seqLen() * c.headSize(); // freq_cis, unused: RoPE is computed
            long clsOff = c.sharedClassifier() ? embOff : pos;

            boolean needEmbeddingTable = slice.withEmbedding() || (slice.withHead() && c.sharedClassifier());
            F32Matrix embedding = needEmbeddingTable ? new F32Matrix(floats(ch, embOff, (long) c.vocabSize() * d), c.vocabSize(), d) : null;
            LayerWeights[] layers = new LayerWeights[nl];
            for (int l = slice.firstLayer(); l < slice.endLayer(); l++) {
                layers[l] = new LayerWeights(
                        floats(ch, rmsAttOff + 4L * l * d, d),
                        new F32Matrix(floats(ch, wqOff + 4L * l * d * d, (long) d * d), d, d),
                        new F32Matrix(floats(ch, wkOff + 4L * l * d * kv, (long) kv * d), kv, d),
                        new F32Matrix(floats(ch, wvOff + 4L * l * d * kv, (long) kv * d), kv, d),
                        new F32Matrix(floats(ch, woOff + 4L * l * d * d, (long) d * d), d, d),
                        floats(ch, rmsFfnOff + 4L * l * d, d),
                        new F32Matrix(floats(ch, w1Off + 4L * l * d * h, (long) h * d), h, d),
                        new F32Matrix(floats(ch, w2Off + 4L * l * h * d, (long) d * h), d, h),
                        new F32Matrix(floats(ch, w3Off + 4L * l * d * h, (long) h * d), h, d));
            }
            float[] rmsFinal = null;
            F32Matrix classifier = null;
            if (slice.withHead()) {
                rmsFinal = floats(ch, rmsFinalOff, d);
                classifier = c.sharedClassifier() ? embedding
                        : new F32Matrix(floats(ch, clsOff, (long) c.vocabSize() * d), c.vocabSize(), d);
            }
            return new ModelWeights(c, slice, slice.withEmbedding() ? embedding : null, layers, rmsFinal, classifier);
        }
    }

    private static float[] floats(FileChannel ch, long offset, long count) throws IOException {
        if (count > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException("tensor of " + count + " values is too large for one array");
        }
        float[] out = new float[(int) count];
        int chunk = 1 << 20; // floats per read: keeps the temporary buffer small
        ByteBuffer buf = ByteBuffer.allocate(4 * (int) Math.min(count, chunk)).order(ByteOrder.LITTLE_ENDIAN);
        for (int done = 0; done < count; ) {
            int n = (int) Math.min(chunk, count - done);
            buf.clear().limit(4 * n);
            readFully(ch, buf, offset + 4L * done);
            buf.flip();
            buf.asFloatBuffer().get(out, done, n);
            done += n;
        }
        return out;
    }

    private static ByteBuffer read(FileChannel ch, long offset, int n) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, buf, offset);
        return buf.flip();
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long offset) throws IOException {
        long p = offset;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, p);
            if (r < 0) {
                throw new ModelFormatException("unexpected end of file at byte " + p);
            }
            p += r;
        }
    }
}
