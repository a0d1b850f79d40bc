package dev.splitllm.deploy.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * A POSIX ustar writer with fixed owners, modes and mtimes, so that the same inputs give the same
 * bytes (and digests). Parent folders are added on first use (root-owned, 0755) unless added
 * before with other attributes. Names longer than 100 bytes are split into ustar's prefix field.
 */
public final class TarWriter implements AutoCloseable {
    /** 1980-01-01T00:00:01Z: a fixed mtime for every entry (the value Jib uses; zip-era tools accept it). */
    public static final long MTIME = 315_532_801L;

    private final OutputStream out;
    private final Set<String> dirs = new HashSet<>();

    public TarWriter(OutputStream out) {
        this.out = out;
    }

    public void dir(String path, int mode, int uid, int gid) throws IOException {
        String p = strip(path);
        parents(p);
        if (dirs.add(p)) header(p + "/", mode, uid, gid, 0, '5', "");
    }

    public void file(String path, byte[] content, int mode) throws IOException {
        String p = strip(path);
        parents(p);
        header(p, mode, 0, 0, content.length, '0', "");
        out.write(content);
        pad(content.length);
    }

    public void file(String path, Path source, int mode) throws IOException {
        String p = strip(path);
        parents(p);
        long size = Files.size(source);
        header(p, mode, 0, 0, size, '0', "");
        long copied;
        try (InputStream in = Files.newInputStream(source)) {
            copied = in.transferTo(out);
        }
        if (copied != size) throw new IOException(source + " changed while it was archived");
        pad(size);
    }

    public void symlink(String path, String target) throws IOException {
        String p = strip(path);
        parents(p);
        if (target.getBytes(StandardCharsets.UTF_8).length > 100) throw new IOException("link target too long: " + target);
        header(p, 0777, 0, 0, 0, '2', target);
    }

    /** Two zero blocks end the archive; the stream itself stays open (the caller owns it). */
    @Override
    public void close() throws IOException {
        out.write(new byte[1024]);
        out.flush();
    }

    private static String strip(String path) {
        String p = path;
        while (p.startsWith("/")) p = p.substring(1);
        while (p.endsWith("/")) p = p.substring(0, p.length() - 1);
        if (p.isEmpty() || p.contains("//") || Arrays.asList(p.split("/")).contains("..")) {
            throw new IllegalArgumentException("bad path in image: " + path);
        }
        return p;
    }

    private void parents(String p) throws IOException {
        int slash = p.lastIndexOf('/');
        if (slash > 0 && !dirs.contains(p.substring(0, slash))) dir(p.substring(0, slash), 0755, 0, 0);
    }

    private void pad(long size) throws IOException {
        int rest = (int) (size % 512);
        if (rest != 0) out.write(new byte[512 - rest]);
    }

    private void header(String name, int mode, int uid, int gid, long size, char type, String link) throws IOException {
        byte[] h = new byte[512];
        byte[] full = name.getBytes(StandardCharsets.UTF_8);
        if (full.length <= 100) {
            System.arraycopy(full, 0, h, 0, full.length);
        } else { // ustar: prefix (155) + "/" + name (100), split at a slash
            int cut = name.lastIndexOf('/', name.length() - 2);
            while (cut > 0 && (name.substring(0, cut).getBytes(StandardCharsets.UTF_8).length > 155)) cut = name.lastIndexOf('/', cut - 1);
            byte[] prefix = cut > 0 ? name.substring(0, cut).getBytes(StandardCharsets.UTF_8) : new byte[0];
            byte[] rest = cut > 0 ? name.substring(cut + 1).getBytes(StandardCharsets.UTF_8) : full;
            if (cut <= 0 || prefix.length > 155 || rest.length > 100) throw new IOException("name too long for ustar: " + name);
            System.arraycopy(rest, 0, h, 0, rest.length);
            System.arraycopy(prefix, 0, h, 345, prefix.length);
        }
        octal(h, 100, 8, mode);
        octal(h, 108, 8, uid);
        octal(h, 116, 8, gid);
        octal(h, 124, 12, size);
        octal(h, 136, 12, MTIME);
        h[156] = (byte) type;
        byte[] l = link.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(l, 0, h, 157, l.length);
        System.arraycopy("ustar\u000000".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 8);
        byte[] owner = (uid == 0 ? "root" : "").getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(owner, 0, h, 265, owner.length);
        System.arraycopy(owner, 0, h, 297, owner.length);
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : h) sum += b & 0xff;
        byte[] chk = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(chk, 0, h, 148, 8);
        out.write(h);
    }

    private static void octal(byte[] h, int at, int len, long value) {
        String s = Long.toOctalString(value);
        if (s.length() > len - 1) throw new IllegalArgumentException("value too large for a " + len + "-byte tar field: " + value);
        s = "0".repeat(len - 1 - s.length()) + s;
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, at, len - 1);
    }
}
