package dev.splitllm.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads character vectors from an R lazy-load database ({@code Rdata.rdb}) without R: a
 * sequence of blocks, each a 4-byte big-endian uncompressed length followed by a zlib stream
 * holding one R XDR serialization (format {@code X\n}, version 2 or 3) of a character vector
 * (STRSXP of CHARSXP elements; NA elements become empty strings). Only what the janeaustenr
 * data needs is supported; anything else is rejected with the block number and the reason.
 * Sizes are bounded before anything is allocated.
 */
public final class RLazyLoadDb {
    /** Largest uncompressed block accepted. */
    public static final int MAX_BLOCK_BYTES = 64 << 20;
    /** Most blocks read from one file. */
    public static final int MAX_BLOCKS = 1024;

    private static final int STRSXP = 16;
    private static final int CHARSXP = 9;

    private RLazyLoadDb() {}

    /** Every block of {@code data}, in file order, each as its list of strings. */
    public static List<List<String>> readCharacterVectors(byte[] data) throws IOException {
        List<List<String>> out = new ArrayList<>();
        int off = 0;
        while (off < data.length) {
            if (out.size() == MAX_BLOCKS) {
                throw new IOException("R data file holds more than " + MAX_BLOCKS + " blocks");
            }
            int block = out.size();
            if (data.length - off < 4) {
                throw new IOException("R data block " + block + " at byte " + off + ": truncated length header");
            }
            int rawLength = beInt(data, off);
            if (rawLength < 16 || rawLength > MAX_BLOCK_BYTES) {
                throw new IOException("R data block " + block + " at byte " + off + ": uncompressed length " + rawLength
                        + " outside 16.." + MAX_BLOCK_BYTES);
            }
            byte[] raw = new byte[rawLength];
            Inflater inf = new Inflater();
            try {
                inf.setInput(data, off + 4, data.length - off - 4);
                int n = 0;
                while (n < rawLength && !inf.finished()) {
                    int k = inf.inflate(raw, n, rawLength - n);
                    if (k == 0 && (inf.needsInput() || inf.needsDictionary())) {
                        throw new IOException("R data block " + block + " at byte " + off + ": zlib stream ends early (got "
                                + n + " of " + rawLength + " bytes)");
                    }
                    n += k;
                }
                if (!inf.finished()) {
                    byte[] probe = new byte[1];
                    int extra = inf.inflate(probe);
                    if (extra == 0 && !inf.finished() && inf.needsInput()) {
                        throw new IOException("R data block " + block + " at byte " + off + ": zlib stream truncated (file ends before its checksum)");
                    }
                    if (extra != 0 || !inf.finished()) {
                        throw new IOException("R data block " + block + " at byte " + off + ": zlib stream longer than its declared "
                                + rawLength + " bytes");
                    }
                }
                if (n != rawLength) {
                    throw new IOException("R data block " + block + " at byte " + off + ": zlib stream gave " + n
                            + " bytes, header says " + rawLength);
                }
                off = data.length - inf.getRemaining();
            } catch (DataFormatException e) {
                throw new IOException("R data block " + block + " at byte " + off + ": corrupt zlib stream (" + e.getMessage() + ")", e);
            } finally {
                inf.end();
            }
            out.add(parseStrsxp(raw, block));
        }
        return out;
    }

    /** Parses one XDR serialization of a character vector. */
    static List<String> parseStrsxp(byte[] b, int block) throws IOException {
        Cursor c = new Cursor(b, block);
        if (b.length < 2 || b[0] != 'X' || b[1] != '\n') {
            throw c.error("not an R XDR serialization (expected 'X\\n')");
        }
        c.pos = 2;
        int version = c.i32("format version");
        if (version != 2 && version != 3) {
            throw c.error("unsupported serialization version " + version);
        }
        c.i32("writer R version");
        c.i32("minimal R version");
        if (version == 3) {
            int n = c.i32("native encoding length");
            c.bytes(n, "native encoding");
        }
        int flags = c.i32("vector flags");
        if ((flags & 0xff) != STRSXP) {
            throw c.error("expected a character vector (STRSXP, type 16), found type " + (flags & 0xff));
        }
        int length = c.i32("vector length");
        if (length < 0) {
            throw c.error("long or negative vector length " + length + " not supported");
        }
        // Each element takes at least 8 bytes: bound the list before allocating it.
        if ((long) length * 8 > b.length - c.pos) {
            throw c.error("vector length " + length + " exceeds what the block can hold");
        }
        List<String> out = new ArrayList<>(length);
        for (int i = 0; i < length; i++) {
            int ef = c.i32("element flags");
            if ((ef & 0xff) != CHARSXP) {
                throw c.error("element " + i + " is type " + (ef & 0xff) + ", expected CHARSXP (9)");
            }
            int n = c.i32("element length");
            if (n == -1) {
                out.add("");
                continue;
            }
            int at = c.bytes(n, "element " + i);
            out.add(new String(b, at, n, StandardCharsets.UTF_8));
        }
        return out;
    }

    private static int beInt(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
    }

    /** Bounds-checked big-endian reader over one block. */
    private static final class Cursor {
        final byte[] b;
        final int block;
        int pos;

        Cursor(byte[] b, int block) {
            this.b = b;
            this.block = block;
        }

        int i32(String what) throws IOException {
            if (b.length - pos < 4) {
                throw error("truncated at " + what);
            }
            int v = beInt(b, pos);
            pos += 4;
            return v;
        }

        int bytes(int n, String what) throws IOException {
            if (n < 0 || n > b.length - pos) {
                throw error(what + ": length " + n + " runs past the end of the block");
            }
            int at = pos;
            pos += n;
            return at;
        }

        IOException error(String why) {
            return new IOException("R data block " + block + " (byte " + pos + " of its serialization): " + why);
        }
    }
}
