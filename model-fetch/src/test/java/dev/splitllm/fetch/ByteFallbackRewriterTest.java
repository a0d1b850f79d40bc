package dev.splitllm.fetch;


import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ByteFallbackRewriterTest {

    static final int VOCAB = 300;

    /** A tokenizer.bin of VOCAB pieces; byte-fallback ids hold raw bytes when oldStyle. */
    static byte[] vocabFile(boolean oldStyle) {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        bo.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(27).array());
        for (int i = 0; i < VOCAB; i++) {
            byte[] piece;
            if (i == 0) piece = "<unk>".getBytes(StandardCharsets.US_ASCII);
            else if (i == 1) piece = "\n<s>\n".getBytes(StandardCharsets.US_ASCII);
            else if (i == 2) piece = "\n</s>\n".getBytes(StandardCharsets.US_ASCII);
            else if (i < 259) {
                int v = i - 3;
                piece = oldStyle
                        ? (v < 128 ? new byte[] {(byte) v} : new byte[] {(byte) (0xc0 | v >> 6), (byte) (0x80 | v & 0x3f)})
                        : String.format("<0x%02X>", v).getBytes(StandardCharsets.US_ASCII);
            } else piece = ("tok" + i).getBytes(StandardCharsets.US_ASCII);
            b.clear();
            b.putFloat(-i * 0.5f).putInt(piece.length);
            bo.writeBytes(b.array());
            bo.writeBytes(piece);
        }
        return bo.toByteArray();
    }

    @Test
    void rewritesByteFallbackPiecesOnly() throws Exception {
        byte[] fixed = ByteFallbackRewriter.rewrite(vocabFile(true), VOCAB);
        assertArrayEquals(vocabFile(false), fixed);
        // Read the records back as llama2.c does (engine's Llama2Tokenizer is tested on the real file).
        ByteBuffer in = ByteBuffer.wrap(fixed).order(ByteOrder.LITTLE_ENDIAN);
        in.getInt(); // max token length
        byte[][] pieces = new byte[VOCAB][];
        float[] scores = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            scores[i] = in.getFloat();
            pieces[i] = new byte[in.getInt()];
            in.get(pieces[i]);
        }
        assertFalse(in.hasRemaining());
        assertArrayEquals("<0x0A>".getBytes(StandardCharsets.US_ASCII), pieces[3 + 10]);
        assertArrayEquals("<0xFF>".getBytes(StandardCharsets.US_ASCII), pieces[258]);
        assertEquals(-13 * 0.5f, scores[13]);
        assertArrayEquals("tok299".getBytes(StandardCharsets.US_ASCII), pieces[299]);
    }

    @Test
    void isIdempotentOnCurrentStyle() throws Exception {
        assertArrayEquals(vocabFile(false), ByteFallbackRewriter.rewrite(vocabFile(false), VOCAB));
    }

    @Test
    void rejectsTruncatedInput() {
        byte[] raw = vocabFile(true);
        FetchException e = assertThrows(FetchException.class,
                () -> ByteFallbackRewriter.rewrite(Arrays.copyOf(raw, raw.length - 3), VOCAB));
        assertTrue(e.getMessage().contains("piece"), e.getMessage());
    }

    @Test
    void rejectsTrailingBytesAndWrongVocabSize() {
        byte[] raw = vocabFile(true);
        assertThrows(FetchException.class, () -> ByteFallbackRewriter.rewrite(Arrays.copyOf(raw, raw.length + 1), VOCAB));
        assertThrows(FetchException.class, () -> ByteFallbackRewriter.rewrite(raw, VOCAB - 1));
        assertThrows(FetchException.class, () -> ByteFallbackRewriter.rewrite(raw, VOCAB + 1));
    }

    @Test
    void rejectsNegativeLength() {
        byte[] raw = vocabFile(true);
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).putInt(4 + 4, -5);
        assertThrows(FetchException.class, () -> ByteFallbackRewriter.rewrite(raw, VOCAB));
    }
}
