package dev.splitllm.fetch;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * A minimal streaming reader for POSIX (ustar) tar archives, as written by npm: regular
 * files, directories, the ustar name prefix, pax extended headers ({@code path} and
 * {@code size}) and GNU long names. Header checksums are verified; sizes are bounded before
 * anything is allocated. Reads sequentially from any stream, e.g. a
 * {@link java.util.zip.GZIPInputStream}; it does not close the stream.
 */
public final class TarReader {
    private static final int BLOCK = 512;
    /** Pax headers and GNU long names are read into memory; refuse larger ones. */
    static final int MAX_META_BYTES = 1 << 20;

    /**
     * One archive member.
     *
     * @param name path inside the archive
     * @param size bytes of content
     * @param type tar type flag ('0' regular file, '5' directory, …)
     */
    public record Entry(String name, long size, char type) {
        /** True for regular files. */
        public boolean isFile() {
            return type == '0' || type == '\0' || type == '7';
        }
    }

    private final InputStream in;
    private final byte[] header = new byte[BLOCK];
    /** Content bytes of the current entry not yet consumed, and its padding. */
    private long remaining;
    private long padding;
    private boolean ended;

    public TarReader(InputStream in) {
        this.in = in;
    }

    /** The next member, or null at the end of the archive. Skips what is left of the current one. */
    public Entry next() throws IOException {
        if (ended) {
            return null;
        }
        skipRest();
        String longName = null;
        Long paxSize = null;
        while (true) {
            if (!readBlock(header, true)) {
                ended = true;
                return null; // EOF without end blocks: tolerated, like GNU tar
            }
            if (isZero(header)) {
                ended = true;
                return null;
            }
            verifyChecksum(header);
            char type = (char) (header[156] & 0xff);
            long size = parseNumber(header, 124, 12, "size");
            String name = cString(header, 0, 100);
            if (isUstar(header)) {
                String prefix = cString(header, 345, 155);
                if (!prefix.isEmpty()) {
                    name = prefix + "/" + name;
                }
            }
            if (type == 'x' || type == 'g' || type == 'L') {
                if (size > MAX_META_BYTES) {
                    throw new IOException("tar: " + (type == 'L' ? "long name" : "pax header") + " of " + size
                            + " bytes exceeds the limit of " + MAX_META_BYTES);
                }
                byte[] meta = new byte[(int) size];
                readFully(meta, 0, meta.length);
                skipFully(pad(size));
                if (type == 'L') {
                    longName = cString(meta, 0, meta.length);
                } else if (type == 'x') {
                    PaxValues pax = parsePax(meta);
                    if (pax.path != null) longName = pax.path;
                    if (pax.size != null) paxSize = pax.size;
                }
                continue; // the header these apply to follows
            }
            if (longName != null) name = longName;
            if (paxSize != null) size = paxSize;
            remaining = (type == '5') ? 0 : size;
            padding = pad(remaining);
            return new Entry(name, size, type);
        }
    }

    /**
     * Reads up to {@code len} content bytes of the current entry; -1 once it is exhausted.
     * Fails with {@link EOFException} if the archive ends inside the entry.
     */
    public int read(byte[] buf, int off, int len) throws IOException {
        if (remaining == 0) {
            return -1;
        }
        int n = in.read(buf, off, (int) Math.min(len, remaining));
        if (n < 0) {
            throw new EOFException("tar: archive truncated inside an entry (" + remaining + " bytes missing)");
        }
        remaining -= n;
        return n;
    }

    private void skipRest() throws IOException {
        skipFully(remaining + padding);
        remaining = 0;
        padding = 0;
    }

    private static long pad(long size) {
        return (BLOCK - size % BLOCK) % BLOCK;
    }

    private record PaxValues(String path, Long size) {}

    /** Pax records: "LEN key=value\n", LEN counting the whole record in bytes. */
    private static PaxValues parsePax(byte[] meta) throws IOException {
        String path = null;
        Long size = null;
        int pos = 0;
        while (pos < meta.length) {
            int sp = pos;
            while (sp < meta.length && meta[sp] != ' ') sp++;
            int len;
            try {
                len = Integer.parseInt(new String(meta, pos, sp - pos, StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                throw new IOException("tar: malformed pax record length");
            }
            if (len <= sp - pos + 1 || pos + len > meta.length || meta[pos + len - 1] != '\n') {
                throw new IOException("tar: malformed pax record");
            }
            String rec = new String(meta, sp + 1, pos + len - 1 - (sp + 1), StandardCharsets.UTF_8);
            int eq = rec.indexOf('=');
            if (eq < 0) {
                throw new IOException("tar: pax record without '='");
            }
            String key = rec.substring(0, eq), value = rec.substring(eq + 1);
            if (key.equals("path")) {
                path = value;
            } else if (key.equals("size")) {
                try {
                    size = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    throw new IOException("tar: malformed pax size " + value);
                }
                if (size < 0) throw new IOException("tar: negative pax size");
            }
            pos += len;
        }
        return new PaxValues(path, size);
    }

    private static boolean isUstar(byte[] h) {
        return h[257] == 'u' && h[258] == 's' && h[259] == 't' && h[260] == 'a' && h[261] == 'r';
    }

    private static boolean isZero(byte[] h) {
        for (byte b : h) {
            if (b != 0) return false;
        }
        return true;
    }

    private static void verifyChecksum(byte[] h) throws IOException {
        long stored = parseNumber(h, 148, 8, "checksum");
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
        }
        if (sum != stored) {
            throw new IOException("tar: header checksum mismatch (corrupt or not a tar archive)");
        }
    }

    /** Octal ASCII (NUL/space padded) or, when the top bit is set, GNU base-256. */
    static long parseNumber(byte[] h, int off, int len, String what) throws IOException {
        if ((h[off] & 0x80) != 0) {
            if ((h[off] & 0x40) != 0) {
                throw new IOException("tar: negative " + what);
            }
            long v = h[off] & 0x3f;
            for (int i = 1; i < len; i++) {
                if ((v >>> 55) != 0) throw new IOException("tar: " + what + " too large");
                v = (v << 8) | (h[off + i] & 0xff);
            }
            return v;
        }
        long v = 0;
        int i = off, end = off + len;
        while (i < end && (h[i] == ' ' || h[i] == 0)) i++;
        boolean any = false;
        for (; i < end && h[i] >= '0' && h[i] <= '7'; i++) {
            if ((v >>> 60) != 0) throw new IOException("tar: " + what + " too large");
            v = v * 8 + (h[i] - '0');
            any = true;
        }
        for (; i < end; i++) {
            if (h[i] != ' ' && h[i] != 0) throw new IOException("tar: malformed " + what + " field");
        }
        if (!any) {
            throw new IOException("tar: empty " + what + " field");
        }
        return v;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) end++;
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    /** Reads one block; returns false on a clean EOF at a block boundary when allowed. */
    private boolean readBlock(byte[] b, boolean eofOk) throws IOException {
        int n = in.readNBytes(b, 0, BLOCK);
        if (n == 0 && eofOk) {
            return false;
        }
        if (n < BLOCK) {
            throw new EOFException("tar: archive truncated inside a header");
        }
        return true;
    }

    private void readFully(byte[] b, int off, int len) throws IOException {
        if (in.readNBytes(b, off, len) < len) {
            throw new EOFException("tar: archive truncated");
        }
    }

    private void skipFully(long n) throws IOException {
        if (n <= 0) return;
        try {
            in.skipNBytes(n);
        } catch (EOFException e) {
            throw new EOFException("tar: archive truncated inside an entry");
        }
    }
}
