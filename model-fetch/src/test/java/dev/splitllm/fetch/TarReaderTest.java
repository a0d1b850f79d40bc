package dev.splitllm.fetch;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TarReaderTest {

    static byte[] readAll(TarReader r) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        byte[] buf = new byte[77]; // odd size: exercises partial reads
        int n;
        while ((n = r.read(buf, 0, buf.length)) > 0) bo.write(buf, 0, n);
        return bo.toByteArray();
    }

    @Test
    void readsEntriesInOrderWithContent() throws IOException {
        byte[] big = new byte[5000];
        new Random(7).nextBytes(big);
        byte[] tar = new TestTar().dir("package/").file("package/a.txt", "hello".getBytes(StandardCharsets.UTF_8))
                .file("package/src/big.data", big).file("package/empty", new byte[0]).tar();
        TarReader r = new TarReader(new ByteArrayInputStream(tar));
        TarReader.Entry e = r.next();
        assertEquals("package/", e.name());
        assertFalse(e.isFile());
        e = r.next();
        assertEquals(new TarReader.Entry("package/a.txt", 5, '0'), e);
        assertEquals("hello", new String(readAll(r), StandardCharsets.UTF_8));
        e = r.next();
        assertEquals("package/src/big.data", e.name());
        assertEquals(5000, e.size());
        assertArrayEquals(big, readAll(r));
        e = r.next();
        assertEquals("package/empty", e.name());
        assertEquals(0, e.size());
        assertNull(r.next());
        assertNull(r.next());
    }

    @Test
    void skipsUnreadContent() throws IOException {
        byte[] tar = new TestTar().file("one", new byte[700]).file("two", "x".getBytes(StandardCharsets.UTF_8)).tar();
        TarReader r = new TarReader(new ByteArrayInputStream(tar));
        assertEquals("one", r.next().name());
        assertEquals("two", r.next().name());
        assertArrayEquals("x".getBytes(StandardCharsets.UTF_8), readAll(r));
    }

    @Test
    void paxPathOverridesHeaderName() throws IOException {
        String longName = "package/" + "d".repeat(150) + "/file.bin";
        byte[] tar = new TestTar().paxPath(longName).file("truncated-name", new byte[] {1, 2, 3}).tar();
        TarReader r = new TarReader(new ByteArrayInputStream(tar));
        TarReader.Entry e = r.next();
        assertEquals(longName, e.name());
        assertArrayEquals(new byte[] {1, 2, 3}, readAll(r));
        assertNull(r.next());
    }

    @Test
    void rejectsCorruptHeaderChecksum() {
        byte[] tar = new TestTar().file("a", new byte[10]).tar();
        tar[0] ^= 1; // name changes, checksum no longer matches
        IOException e = assertThrows(IOException.class, () -> new TarReader(new ByteArrayInputStream(tar)).next());
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }

    @Test
    void rejectsArchiveTruncatedInsideEntry() throws IOException {
        byte[] tar = new TestTar().file("a", new byte[2000]).tar();
        byte[] cut = Arrays.copyOf(tar, 512 + 1000);
        TarReader r = new TarReader(new ByteArrayInputStream(cut));
        r.next();
        assertThrows(EOFException.class, () -> readAll(r));
    }

    @Test
    void rejectsArchiveTruncatedInsideHeader() {
        byte[] cut = Arrays.copyOf(new TestTar().file("a", new byte[1]).tar(), 300);
        assertThrows(EOFException.class, () -> new TarReader(new ByteArrayInputStream(cut)).next());
    }

    @Test
    void parsesOctalAndBase256Sizes() throws IOException {
        byte[] h = new byte[512];
        byte[] oct = "00000001750 ".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(oct, 0, h, 124, 12);
        assertEquals(1000, TarReader.parseNumber(h, 124, 12, "size"));
        Arrays.fill(h, 124, 136, (byte) 0);
        h[124] = (byte) 0x80;
        h[131] = 0x02; // 2^(8*4) = 8 GiB: only base-256 can say this
        assertEquals(1L << 33, TarReader.parseNumber(h, 124, 12, "size"));
        byte[] junk = "0000000x750 ".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(junk, 0, h, 124, 12);
        assertThrows(IOException.class, () -> TarReader.parseNumber(h, 124, 12, "size"));
    }

    @Test
    void refusesOversizedPaxHeader() {
        byte[] tar = new TestTar().entry("PaxHeader", new byte[0], 'x').tar();
        // Rewrite the size field to 2 MiB (checksum recomputed by hand).
        byte[] size = String.format("%011o", 2L << 20).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(size, 0, tar, 124, 11);
        for (int i = 148; i < 156; i++) tar[i] = ' ';
        int sum = 0;
        for (int i = 0; i < 512; i++) sum += tar[i] & 0xff;
        byte[] ck = String.format("%06o", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(ck, 0, tar, 148, 6);
        tar[154] = 0;
        IOException e = assertThrows(IOException.class, () -> new TarReader(new ByteArrayInputStream(tar)).next());
        assertTrue(e.getMessage().contains("limit"), e.getMessage());
    }
}
