package dev.splitllm.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation texts. {@link #fetchesAndParsesAustenReproducingEveryPublishedSha256} and
 * {@link #dumpsKjvReproducingItsSha256} NEED the Debian archive through apt-get (about 1.6 MB
 * and 2.5 MB): they download the packages into a temporary cache, exactly as a user's first run.
 */
class EvalTextsTest {

    @Test
    void fetchesAndParsesAustenReproducingEveryPublishedSha256(@TempDir Path cache) throws IOException {
        EvalTexts texts = new EvalTexts(cache);
        for (EvalTexts.Novel n : EvalTexts.Novel.values()) {
            String text = texts.austen(n); // verified against n.sha256 inside; check again here
            assertEquals(n.sha256, EvalTexts.sha256(text.getBytes(StandardCharsets.UTF_8)), n.id);
        }
        assertEquals(684_768, texts.austen(EvalTexts.Novel.PRIDE_AND_PREJUDICE).getBytes(StandardCharsets.UTF_8).length);
        assertTrue(texts.austen(EvalTexts.Novel.PRIDE_AND_PREJUDICE).contains("It is a truth universally acknowledged"));
        // A damaged cache file is detected and replaced.
        Path f = cache.resolve("texts/austen/emma.txt");
        Files.writeString(f, "damaged");
        assertEquals(EvalTexts.Novel.EMMA.sha256,
                EvalTexts.sha256(texts.austen(EvalTexts.Novel.EMMA).getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void dumpsKjvReproducingItsSha256(@TempDir Path cache) throws IOException {
        EvalTexts texts = new EvalTexts(cache);
        String kjv = texts.kjv();
        assertEquals(EvalTexts.KJV_SHA256, EvalTexts.sha256(kjv.getBytes(StandardCharsets.UTF_8)));
        assertEquals(31_102, kjv.split("\n").length);
        List<String> genesis = texts.kjvBook("Ge");
        assertEquals(1533, genesis.size());
        assertTrue(genesis.get(0).startsWith("In the beginning God created the heaven and the earth"), genesis.get(0));
        assertThrows(IllegalArgumentException.class, () -> texts.kjvBook("Nope"));
    }

    @Test
    void parsesCharacterVectorBlocks() throws IOException {
        byte[] db = concat(block(xdr("first line", "", "third \u00e9")), block(xdr("x")));
        List<List<String>> v = RLazyLoadDb.readCharacterVectors(db);
        assertEquals(List.of(List.of("first line", "", "third \u00e9"), List.of("x")), v);
    }

    @Test
    void corruptDataBlockGivesAClearError() {
        byte[] good = concat(block(xdr("alpha", "beta")), block(xdr("gamma", "delta", "epsilon")));
        int secondBlock = block(xdr("alpha", "beta")).length;
        byte[] bad = good.clone();
        bad[secondBlock + 12] ^= 0x5a; // inside the second zlib stream
        IOException e = assertThrows(IOException.class, () -> RLazyLoadDb.readCharacterVectors(bad));
        assertTrue(e.getMessage().startsWith("R data block 1 "), e.getMessage());

        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 5);
        e = assertThrows(IOException.class, () -> RLazyLoadDb.readCharacterVectors(truncated));
        assertTrue(e.getMessage().contains("R data block 1"), e.getMessage());

        byte[] huge = good.clone();
        huge[0] = 0x7f; // declared uncompressed length far above the bound
        e = assertThrows(IOException.class, () -> RLazyLoadDb.readCharacterVectors(huge));
        assertTrue(e.getMessage().contains("uncompressed length"), e.getMessage());

        byte[] notStrings = xdr("a");
        notStrings[notStrings.length - 14] = 13; // vector type 16 -> 13 (integer vector)
        e = assertThrows(IOException.class, () -> RLazyLoadDb.readCharacterVectors(block(notStrings)));
        assertTrue(e.getMessage().contains("expected a character vector"), e.getMessage());
    }

    @Test
    void sixBlocksAreRequiredForTheNovels() {
        IOException e = assertThrows(IOException.class, () -> EvalTexts.parseNovels(block(xdr("only one"))));
        assertTrue(e.getMessage().contains("expected 6"), e.getMessage());
    }

    @Test
    void badPackageNamesAndMissingToolsAreReported(@TempDir Path dir) throws IOException {
        assertThrows(IllegalArgumentException.class, () -> DebianPackages.download(dir, "bad name; rm"));
        IOException e = assertThrows(IOException.class,
                () -> DebianPackages.run(dir, List.of("splitllm-no-such-tool-xyz", "download")));
        assertTrue(e.getMessage().contains("cannot run 'splitllm-no-such-tool-xyz'"), e.getMessage());
    }

    /** XDR version-3 serialization of a character vector ("" becomes NA only if null). */
    static byte[] xdr(String... elements) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes("X\n".getBytes(StandardCharsets.US_ASCII));
        putInt(b, 3);
        putInt(b, 0x040201);
        putInt(b, 0x030500);
        byte[] enc = "UTF-8".getBytes(StandardCharsets.US_ASCII);
        putInt(b, enc.length);
        b.writeBytes(enc);
        putInt(b, 16);
        putInt(b, elements.length);
        for (String s : elements) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            putInt(b, 0x00040009);
            putInt(b, u.length);
            b.writeBytes(u);
        }
        return b.toByteArray();
    }

    static byte[] block(byte[] raw) {
        Deflater d = new Deflater();
        d.setInput(raw);
        d.finish();
        byte[] buf = new byte[raw.length + 64];
        int n = d.deflate(buf);
        d.end();
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        putInt(b, raw.length);
        b.write(buf, 0, n);
        return b.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    private static void putInt(ByteArrayOutputStream b, int v) {
        b.write(v >>> 24);
        b.write(v >>> 16);
        b.write(v >>> 8);
        b.write(v);
    }
}
