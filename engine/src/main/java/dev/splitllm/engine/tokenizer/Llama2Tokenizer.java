package dev.splitllm.engine.tokenizer;

import dev.splitllm.engine.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The llama2.c / SentencePiece-style BPE tokenizer. File format ({@code tokenizer.bin}): int32
 * max_token_length, then per token a float32 merge score, an int32 byte length and the piece's
 * bytes. Ids 0..2 are unk, BOS, EOS; ids 3..258 are the byte-fallback pieces {@code <0xHH>}.
 *
 * <p>Encoding follows llama2.c: a dummy-prefix space, one token per UTF-8 character (or its
 * bytes as byte-fallback tokens), then repeated merges of the adjacent pair whose merged piece
 * has the highest score, leftmost first on ties.
 */
public final class Llama2Tokenizer implements Tokenizer {
    public static final int BOS = 1;
    public static final int EOS = 2;
    private static final int BYTE_FALLBACK_BASE = 3;
    private static final int MAX_PIECE_BYTES = 1024;

    private final byte[][] pieces;
    private final float[] scores;
    /** Piece bytes (as a Latin-1 string: one char per byte) to the lowest id with that piece. */
    private final Map<String, Integer> lookup;
    /** Pieces of the form {@code <0xHH>} decode to the single byte HH; -1 elsewhere. */
    private final int[] byteValue;
    /** Byte value to its byte-fallback token, or -1. */
    private final int[] byteToken;
    private final int bos;
    private final int eos;
    private final boolean addSpacePrefix;
    /** Ids that decode to nothing (control tokens), or null for just BOS and EOS. */
    private final boolean[] control;
    private final SpecialTokens specials;

    public Llama2Tokenizer(byte[][] pieces, float[] scores) {
        this(pieces, scores, BOS, EOS, true, null);
        if (pieces.length < BYTE_FALLBACK_BASE + 256) {
            throw new IllegalArgumentException("a llama2.c vocabulary needs at least 259 pieces with scores, got " + pieces.length);
        }
        for (int b = 0; b < 256; b++) {
            if (byteValue[BYTE_FALLBACK_BASE + b] != b) {
                throw new IllegalArgumentException("piece " + (BYTE_FALLBACK_BASE + b) + " should be <0x"
                        + String.format("%02X", b) + "> (old-style raw byte vocabulary? rewrite it first)");
            }
        }
    }

    /**
     * A SentencePiece-style vocabulary with its own layout (e.g. from GGUF metadata): byte-fallback
     * pieces {@code <0xHH>} may sit anywhere (a byte without one is dropped on encode), {@code bos}
     * and {@code eos} may be -1, {@code addSpacePrefix} controls the dummy-prefix space, and ids
     * flagged in {@code control} decode to nothing.
     */
    public Llama2Tokenizer(byte[][] pieces, float[] scores, int bos, int eos, boolean addSpacePrefix, boolean[] control) {
        this(pieces, scores, bos, eos, addSpacePrefix, control, null);
    }

    /** As above, with the special tokens cut out of text ({@code null}: BOS, EOS and the control ids, by their pieces). */
    public Llama2Tokenizer(byte[][] pieces, float[] scores, int bos, int eos, boolean addSpacePrefix, boolean[] control,
                           SpecialTokens specials) {
        if (pieces.length != scores.length || pieces.length == 0) {
            throw new IllegalArgumentException("need one score per piece, got " + pieces.length + " pieces and " + scores.length + " scores");
        }
        if (bos < -1 || bos >= pieces.length || eos < -1 || eos >= pieces.length) {
            throw new IllegalArgumentException("bos " + bos + " / eos " + eos + " outside the vocabulary of " + pieces.length);
        }
        if (control != null && control.length != pieces.length) {
            throw new IllegalArgumentException("control flags: " + control.length + " for " + pieces.length + " pieces");
        }
        this.pieces = pieces;
        this.scores = scores;
        this.bos = bos;
        this.eos = eos;
        this.addSpacePrefix = addSpacePrefix;
        this.control = control;
        if (specials == null) {
            String[] texts = new String[pieces.length];
            boolean[] ctl = new boolean[pieces.length];
            for (int i = 0; i < pieces.length; i++) {
                texts[i] = new String(pieces[i], StandardCharsets.UTF_8);
                ctl[i] = i == bos || i == eos || (control != null && control[i]);
            }
            specials = SpecialTokens.of(texts, ctl, null);
        }
        this.specials = specials;
        this.lookup = new HashMap<>(pieces.length * 2);
        this.byteValue = new int[pieces.length];
        this.byteToken = new int[256];
        java.util.Arrays.fill(byteToken, -1);
        for (int i = 0; i < pieces.length; i++) {
            lookup.putIfAbsent(new String(pieces[i], StandardCharsets.ISO_8859_1), i);
            byteValue[i] = parseByteToken(pieces[i]);
            if (byteValue[i] >= 0 && byteToken[byteValue[i]] < 0) {
                byteToken[byteValue[i]] = i;
            }
        }
    }

    /** Reads a {@code tokenizer.bin} holding exactly {@code vocabSize} pieces. */
    public static Llama2Tokenizer load(Path file, int vocabSize) throws IOException {
        long size = Files.size(file);
        if (size > 64L << 20) {
            throw new ModelFormatException(file + ": " + size + " bytes is too large for a tokenizer file");
        }
        return parse(Files.readAllBytes(file), vocabSize, file.toString());
    }

    /** Parses tokenizer bytes; {@code name} is used in error messages. */
    public static Llama2Tokenizer parse(byte[] data, int vocabSize, String name) throws ModelFormatException {
        if (vocabSize < BYTE_FALLBACK_BASE + 256 || vocabSize > (1 << 22)) {
            throw new ModelFormatException(name + ": unsupported vocabulary size " + vocabSize);
        }
        ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (buf.remaining() < 4) {
            throw new ModelFormatException(name + ": too short for a tokenizer header");
        }
        int maxLen = buf.getInt();
        if (maxLen <= 0 || maxLen > MAX_PIECE_BYTES) {
            throw new ModelFormatException(name + ": max_token_length " + maxLen + " is out of range (1.." + MAX_PIECE_BYTES + ")");
        }
        byte[][] pieces = new byte[vocabSize][];
        float[] scores = new float[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            if (buf.remaining() < 8) {
                throw new ModelFormatException(name + ": truncated at token " + i + " of " + vocabSize);
            }
            scores[i] = buf.getFloat();
            int len = buf.getInt();
            if (len < 0 || len > MAX_PIECE_BYTES || len > buf.remaining()) {
                throw new ModelFormatException(name + ": token " + i + " has invalid length " + len
                        + (len > buf.remaining() ? " (truncated file)" : ""));
            }
            if (!Float.isFinite(scores[i])) {
                throw new ModelFormatException(name + ": token " + i + " has a non-finite score");
            }
            pieces[i] = new byte[len];
            buf.get(pieces[i]);
        }
        if (buf.hasRemaining()) {
            throw new ModelFormatException(name + ": " + buf.remaining() + " trailing bytes after " + vocabSize
                    + " tokens (vocabulary size mismatch?)");
        }
        try {
            return new Llama2Tokenizer(pieces, scores);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(name + ": " + e.getMessage());
        }
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    /** True when encoding prepends the dummy-prefix space. */
    public boolean addSpacePrefix() {
        return addSpacePrefix;
    }

    /** True when the token decodes to nothing (BOS, EOS or a control token). */
    public boolean isControl(int id) {
        return id == bos || id == eos || (control != null && control[id]);
    }

    /** The raw piece bytes of a token (a copy). */
    public byte[] piece(int id) {
        return pieces[id].clone();
    }

    public float score(int id) {
        return scores[id];
    }

    /** Id of an exact piece, or -1. */
    public int lookup(byte[] piece) {
        Integer id = lookup.get(new String(piece, StandardCharsets.ISO_8859_1));
        return id == null ? -1 : id;
    }

    @Override
    public int[] encode(String text, boolean addBos) {
        return encode(text, addBos, false);
    }

    /**
     * As llama.cpp's SPM path: the text is cut at special tokens, and each text fragment is
     * encoded on its own, with the dummy-prefix space when it starts the input or follows a
     * special token.
     */
    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        java.util.List<SpecialTokens.Fragment> frags = specials.split(text, parseSpecial);
        if (frags.size() == 1 && !frags.get(0).isToken()) {
            return encodeText(text, addBos, true);
        }
        int[] out = new int[0];
        if (addBos && bos >= 0) out = new int[] {bos};
        boolean prevSpecial = true;
        for (SpecialTokens.Fragment f : frags) {
            int[] part = f.isToken() ? new int[] {f.token()} : encodeText(f.text(), false, prevSpecial);
            prevSpecial = f.isToken();
            int n = out.length;
            out = java.util.Arrays.copyOf(out, n + part.length);
            System.arraycopy(part, 0, out, n, part.length);
        }
        return out;
    }

    private int[] encodeText(String text, boolean addBos, boolean prefix) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        // Initial symbols: optional BOS, the dummy prefix, then one per character.
        int[] ids = new int[utf8.length + 2];
        int n = 0;
        if (addBos && bos >= 0) ids[n++] = bos;
        int firstSymbol = n;
        if (utf8.length > 0 && addSpacePrefix && prefix) {
            int space = lookup(new byte[] {' '});
            if (space >= 0) {
                ids[n++] = space;
            } else if (byteToken[' '] >= 0) {
                ids[n++] = byteToken[' '];
            }
        }
        for (int i = 0; i < utf8.length; ) {
            int len = charLength(utf8, i);
            Integer id = lookup.get(new String(utf8, i, len, StandardCharsets.ISO_8859_1));
            if (id != null) {
                ids[n++] = id;
            } else {
                for (int j = 0; j < len; j++) {
                    int bt = byteToken[utf8[i + j] & 0xff];
                    if (bt < 0) continue; // no byte fallback for this byte: dropped
                    if (n == ids.length) ids = java.util.Arrays.copyOf(ids, ids.length * 2);
                    ids[n++] = bt;
                }
            }
            i += len;
        }
        return merge(ids, firstSymbol, n);
    }

    /** Byte length of the UTF-8 character starting at i (1 for invalid or truncated bytes). */
    private static int charLength(byte[] b, int i) {
        int c = b[i] & 0xff;
        int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (i + len > b.length) return 1;
        for (int j = 1; j < len; j++) {
            if ((b[i + j] & 0xc0) != 0x80) return 1;
        }
        return len;
    }

    /**
     * BPE merges over symbols [from, n) of ids with a priority queue: highest merged score first,
     * leftmost on ties; the same result as llama2.c's quadratic scan, in O(n log n).
     */
    private int[] merge(int[] ids, int from, int n) {
        int count = n - from;
        if (count < 2) {
            return java.util.Arrays.copyOf(ids, n);
        }
        int[] sym = new int[count];
        int[] prev = new int[count];
        int[] next = new int[count];
        boolean[] alive = new boolean[count];
        for (int i = 0; i < count; i++) {
            sym[i] = ids[from + i];
            prev[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
            alive[i] = true;
        }
        PriorityQueue<long[]> queue = new PriorityQueue<>((a, b) -> {
            int c = Float.compare(Float.intBitsToFloat((int) b[0]), Float.intBitsToFloat((int) a[0]));
            return c != 0 ? c : Long.compare(a[1], b[1]);
        });
        for (int i = 0; i + 1 < count; i++) {
            offer(queue, sym, i, i + 1);
        }
        while (!queue.isEmpty()) {
            long[] cand = queue.poll();
            int left = (int) cand[1], right = (int) cand[2], merged = (int) cand[3];
            // Stale if either side changed since the pair was queued.
            if (!alive[left] || !alive[right] || next[left] != right || sym[left] != (int) cand[4] || sym[right] != (int) cand[5]) {
                continue;
            }
            sym[left] = merged;
            alive[right] = false;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) offer(queue, sym, prev[left], left);
            if (next[left] >= 0) offer(queue, sym, left, next[left]);
        }
        int[] out = new int[n];
        System.arraycopy(ids, 0, out, 0, from);
        int m = from;
        for (int i = 0; i >= 0; i = next[i]) {
            out[m++] = sym[i];
        }
        return java.util.Arrays.copyOf(out, m);
    }

    private void offer(PriorityQueue<long[]> queue, int[] sym, int left, int right) {
        byte[] a = pieces[sym[left]], b = pieces[sym[right]];
        byte[] joined = new byte[a.length + b.length];
        System.arraycopy(a, 0, joined, 0, a.length);
        System.arraycopy(b, 0, joined, a.length, b.length);
        int id = lookup(joined);
        if (id >= 0) {
            queue.add(new long[] {Float.floatToIntBits(scores[id]), left, right, id, sym[left], sym[right]});
        }
    }

    @Override
    public byte[] decodeBytes(int previous, int token) {
        if (token < 0 || token >= pieces.length) {
            throw new IllegalArgumentException("token id " + token + " outside the vocabulary [0, " + pieces.length + ")");
        }
        if (isControl(token)) {
            return new byte[0]; // control tokens carry no text
        }
        if (byteValue[token] >= 0) {
            return new byte[] {(byte) byteValue[token]};
        }
        byte[] p = pieces[token];
        // After BOS, SentencePiece drops the leading space of the first piece.
        if (previous == bos && bos >= 0 && addSpacePrefix && p.length > 0 && p[0] == ' ') {
            return java.util.Arrays.copyOfRange(p, 1, p.length);
        }
        return p;
    }

    private static int parseByteToken(byte[] p) {
        if (p.length != 6 || p[0] != '<' || p[1] != '0' || p[2] != 'x' || p[5] != '>') {
            return -1;
        }
        int hi = Character.digit(p[3], 16), lo = Character.digit(p[4], 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }
}
