package dev.splitllm.engine.draft;

import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.weights.Q8_0Quantizer;
import dev.splitllm.quantization.wire.Crc32c;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The affine adapter of the exit-head drafter for one model and split layer l: y = W·h + b maps
 * the residual stream after block l-1 (what the edge sends) to an estimate of the residual stream
 * after the last block, which the model's own final norm and classifier then turn into logits.
 * Fitted offline (eval's DraftHeadFitter); carries the shape and a fingerprint of the model it
 * was fitted for, so that a head is never silently used with another model.
 *
 * <p>File format (".xhead"), little-endian: magic "SPXH", u16 version (1), i32 split layer,
 * i32 d, i32 layers, i32 vocab size, i64 model fingerprint, f32[d*d] W (row-major), f32[d] b,
 * then u32 CRC32C of every byte before it. Plain Java (Android-safe): no reflection, no
 * JDK-17-only API.
 */
public final class DraftHead {
    /** File magic, "SPXH". */
    static final byte[] MAGIC = {'S', 'P', 'X', 'H'};
    /** The only format version written and read. */
    public static final int VERSION = 1;
    /** Bytes before W: magic, version, split, d, layers, vocab, fingerprint. */
    static final int HEADER_BYTES = 4 + 2 + 4 * 4 + 8;
    /** Widest adapter a file may declare (W alone is then 1 GiB); rejects garbage before allocating. */
    public static final int MAX_DIM = 16384;

    private final int splitLayer;
    private final int dim;
    private final int nLayers;
    private final int vocabSize;
    private final long fingerprint;
    /** d x d, row-major: y[i] = sum_j w[i*d + j] * h[j] + b[i]. Package-private for the drafter's hot loop. */
    final float[] w;
    final float[] b;

    /**
     * A head for a model of {@code nLayers} blocks, width {@code dim} and {@code vocabSize}
     * tokens, cut after block {@code splitLayer - 1}. The arrays are kept, not copied.
     */
    public DraftHead(int splitLayer, int dim, int nLayers, int vocabSize, long fingerprint, float[] w, float[] b) {
        checkShape(splitLayer, dim, nLayers, vocabSize);
        if (w == null || b == null || w.length != dim * dim || b.length != dim) {
            throw new IllegalArgumentException("a draft head of width " + dim + " needs " + dim + "x" + dim + " weights and "
                    + dim + " biases, got " + (w == null ? "none" : w.length) + " and " + (b == null ? "none" : b.length));
        }
        requireFinite(w, "weight");
        requireFinite(b, "bias");
        this.splitLayer = splitLayer;
        this.dim = dim;
        this.nLayers = nLayers;
        this.vocabSize = vocabSize;
        this.fingerprint = fingerprint;
        this.w = w;
        this.b = b;
    }

    /** The identity adapter (the raw exit: the cut's hidden state goes straight into the final norm). */
    public static DraftHead identity(LlamaConfig config, int splitLayer, long fingerprint) {
        int d = config.dim();
        float[] w = new float[d * d];
        for (int i = 0; i < d; i++) {
            w[i * d + i] = 1f;
        }
        return new DraftHead(splitLayer, d, config.nLayers(), config.vocabSize(), fingerprint, w, new float[d]);
    }

    private static void checkShape(int splitLayer, int dim, int nLayers, int vocabSize) {
        if (dim < 1 || dim > MAX_DIM) {
            throw new IllegalArgumentException("draft head width d must be in [1, " + MAX_DIM + "], got " + dim);
        }
        if (nLayers < 1 || nLayers > LlamaConfig.MAX_LAYERS) {
            throw new IllegalArgumentException("draft head layer count must be in [1, " + LlamaConfig.MAX_LAYERS + "], got " + nLayers);
        }
        if (splitLayer < 0 || splitLayer > nLayers) {
            throw new IllegalArgumentException("draft head split layer must be in [0, " + nLayers + "], got " + splitLayer);
        }
        if (vocabSize < 1 || vocabSize > LlamaConfig.MAX_VOCAB) {
            throw new IllegalArgumentException("draft head vocabulary size must be in [1, " + LlamaConfig.MAX_VOCAB + "], got " + vocabSize);
        }
    }

    private static void requireFinite(float[] v, String what) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new IllegalArgumentException("draft head " + what + " " + i + " is not finite (" + v[i] + ")");
            }
        }
    }

    /** Number of blocks the edge runs before the cut: the adapter reads the residual stream after block l-1. */
    public int splitLayer() {
        return splitLayer;
    }

    public int dim() {
        return dim;
    }

    public int nLayers() {
        return nLayers;
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** {@link #fingerprint(LlamaConfig, float[], WeightMatrix)} of the model the head was fitted for. */
    public long fingerprint() {
        return fingerprint;
    }

    /** A copy of W (d x d, row-major). */
    public float[] weights() {
        return w.clone();
    }

    /** A copy of b (d). */
    public float[] bias() {
        return b.clone();
    }

    /** Bytes held in memory: W and b. */
    public long bytes() {
        return 4L * ((long) dim * dim + dim);
    }

    /**
     * Throws IllegalArgumentException, saying what differs, unless this head fits a model of shape
     * {@code config} whose head has fingerprint {@code modelFingerprint}.
     */
    public void checkModel(LlamaConfig config, long modelFingerprint) {
        if (config.dim() != dim || config.nLayers() != nLayers || config.vocabSize() != vocabSize) {
            throw new IllegalArgumentException("draft head was fitted for a model with d=" + dim + ", " + nLayers + " layers, vocabulary "
                    + vocabSize + "; this model has d=" + config.dim() + ", " + config.nLayers() + " layers, vocabulary "
                    + config.vocabSize());
        }
        if (modelFingerprint != fingerprint) {
            throw new IllegalArgumentException("draft head was fitted for another model of the same shape (fingerprint "
                    + hex(fingerprint) + ", this model's is " + hex(modelFingerprint) + "); fit one for this model with"
                    + " ./splitllm calibrate --draft-head");
        }
    }

    // ---- model fingerprint ---------------------------------------------------------------------

    /** Classifier rows sampled by the fingerprint. */
    private static final int SAMPLED_ROWS = 8;

    /**
     * A 64-bit hash (FNV-1a) of what identifies a model's head: its shape and norm settings, every
     * final-norm weight, and the first 32 weights of 8 evenly spaced classifier rows. The sampled
     * classifier weights are hashed as their Q8_0 codes and scale: Q8_0 re-encodes its own output
     * exactly, so the fingerprint is the same whether the classifier is held at F32 or converted
     * to Q8_0 (the edge's default). Other formats (F16, Q4_0) give another fingerprint: take it
     * from the model as stored, before converting (as {@link ExitHeadDrafter#load} does).
     */
    public static long fingerprint(LlamaConfig c, float[] rmsFinal, WeightMatrix classifier) {
        if (rmsFinal == null || classifier == null) {
            throw new IllegalArgumentException("the fingerprint needs the model's final norm and classifier");
        }
        if (rmsFinal.length != c.dim() || classifier.rows() != c.vocabSize() || classifier.cols() != c.dim()) {
            throw new IllegalArgumentException("final norm (" + rmsFinal.length + ") and classifier (" + classifier.rows() + "x"
                    + classifier.cols() + ") do not match the config (d=" + c.dim() + ", vocabulary " + c.vocabSize() + ")");
        }
        long h = 0xcbf29ce484222325L;
        h = mix(h, c.dim());
        h = mix(h, c.hiddenDim());
        h = mix(h, c.nLayers());
        h = mix(h, c.nHeads());
        h = mix(h, c.nKvHeads());
        h = mix(h, c.vocabSize());
        h = mix(h, Float.floatToIntBits(c.normEps()));
        h = mix(h, Float.floatToIntBits(c.ropeTheta()));
        h = mix(h, c.sharedClassifier() ? 1 : 0);
        for (float v : rmsFinal) {
            h = mix(h, Float.floatToIntBits(v));
        }
        int d = c.dim(), n = Math.min(Q8_0Quantizer.BLOCK, d);
        float[] row = new float[d];
        byte[] codes = new byte[Q8_0Quantizer.BLOCK_BYTES];
        for (int i = 0; i < SAMPLED_ROWS; i++) {
            int r = (int) ((long) i * (c.vocabSize() - 1) / (SAMPLED_ROWS - 1));
            classifier.readRow(r, row, 0);
            if (n == Q8_0Quantizer.BLOCK) {
                Q8_0Quantizer.quantizeRow(row, 0, n, codes, 0, "classifier row " + r);
                for (byte x : codes) {
                    h = mix(h, x);
                }
            } else {
                for (int j = 0; j < n; j++) { // too narrow for Q8_0: the exact bits
                    h = mix(h, Float.floatToIntBits(row[j]));
                }
            }
        }
        return h;
    }

    /** FNV-1a over the four little-endian bytes of v. */
    private static long mix(long h, int v) {
        for (int k = 0; k < 4; k++) {
            h ^= (v >>> (8 * k)) & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    static String hex(long v) {
        return String.format("%016x", v);
    }

    // ---- file ------------------------------------------------------------------------------------

    /** Bytes of a file for width d. */
    private static long fileBytes(int d) {
        return HEADER_BYTES + 4L * ((long) d * d + d) + 4;
    }

    /** Writes the head to {@code file} (a temporary file renamed into place, so readers never see half a head). */
    public void write(Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) fileBytes(dim)).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).putShort((short) VERSION);
        buf.putInt(splitLayer).putInt(dim).putInt(nLayers).putInt(vocabSize).putLong(fingerprint);
        for (float v : w) {
            buf.putFloat(v);
        }
        for (float v : b) {
            buf.putFloat(v);
        }
        byte[] bytes = buf.array();
        buf.putInt(Crc32c.compute(bytes, 0, buf.position()));
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".part");
        try {
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Reads a head written by {@link #write}. Every size is checked against its bound and the file's
     * length before anything is allocated; throws an IOException naming the file and the problem on a
     * wrong magic, an unknown version, absurd sizes, a truncated file, trailing bytes, a CRC mismatch
     * or non-finite weights.
     */
    public static DraftHead read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES) {
                throw bad(file, size < MAGIC.length ? "truncated: " + size + " bytes, shorter than the " + HEADER_BYTES + "-byte header"
                        : headerOnlyProblem(ch, size));
            }
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, header, 0, file);
            header.flip();
            checkMagic(header, file);
            int version = header.getShort() & 0xffff;
            if (version != VERSION) {
                throw bad(file, "unknown format version " + version + " (this build reads version " + VERSION + ")");
            }
            int split = header.getInt(), d = header.getInt(), layers = header.getInt(), vocab = header.getInt();
            long fingerprint = header.getLong();
            try {
                checkShape(split, d, layers, vocab);
            } catch (IllegalArgumentException e) {
                throw bad(file, "absurd header: " + e.getMessage());
            }
            long expected = fileBytes(d);
            if (size < expected) {
                throw bad(file, "truncated: " + size + " bytes, a head of width " + d + " takes " + expected);
            }
            if (size > expected) {
                throw bad(file, (size - expected) + " trailing bytes after the checksum (a head of width " + d + " takes " + expected + ")");
            }
            ByteBuffer all = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, all, 0, file);
            byte[] bytes = all.array();
            int stored = all.getInt((int) size - 4);
            int actual = Crc32c.compute(bytes, 0, (int) size - 4);
            if (stored != actual) {
                throw bad(file, "CRC32C mismatch (stored " + Integer.toHexString(stored) + ", computed " + Integer.toHexString(actual)
                        + "): the file is corrupt");
            }
            all.position(HEADER_BYTES);
            float[] w = new float[d * d];
            all.asFloatBuffer().get(w);
            all.position(HEADER_BYTES + 4 * d * d);
            float[] b = new float[d];
            all.asFloatBuffer().get(b);
            try {
                return new DraftHead(split, d, layers, vocab, fingerprint, w, b);
            } catch (IllegalArgumentException e) {
                throw bad(file, e.getMessage());
            }
        }
    }

    /** For a file shorter than the header: a wrong magic says more than "truncated". */
    private static String headerOnlyProblem(FileChannel ch, long size) throws IOException {
        ByteBuffer m = ByteBuffer.allocate(MAGIC.length);
        readFully(ch, m, 0, null);
        for (int i = 0; i < MAGIC.length; i++) {
            if (m.get(i) != MAGIC[i]) {
                return "not a draft head file (wrong magic; expected \"SPXH\")";
            }
        }
        return "truncated: " + size + " bytes, shorter than the " + HEADER_BYTES + "-byte header";
    }

    private static void checkMagic(ByteBuffer header, Path file) throws IOException {
        for (byte m : MAGIC) {
            if (header.get() != m) {
                throw bad(file, "not a draft head file (wrong magic; expected \"SPXH\")");
            }
        }
    }

    private static IOException bad(Path file, String problem) {
        return new IOException("draft head " + file + ": " + problem);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long offset, Path file) throws IOException {
        long p = offset;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, p);
            if (r < 0) {
                throw bad(file, "unexpected end of file at byte " + p);
            }
            p += r;
        }
    }

    @Override
    public String toString() {
        return "DraftHead[split " + splitLayer + ", d " + dim + ", " + nLayers + " layers, vocabulary " + vocabSize + ", model "
                + hex(fingerprint) + "]";
    }
}
