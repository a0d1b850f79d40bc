package dev.splitllm.engine;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.engine.tokenizer.TextStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TokenizerTest {
    final Llama2Tokenizer tok = TestModel.tokenizer();

    @ParameterizedTest
    @ValueSource(strings = {
            "Once upon a time",
            "Hello, world!  Two  spaces\tand a tab.",
            "Line one\nLine two\n\nAfter a blank line\n",
            "Émilie a mangé des crêpes à Noël — «très bon».",
            "日本語のテキストと中文字符",
            "emoji 🙂🚀 and math ∑∫√",
            "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
            "  leading spaces",
            "x",
            "\u0001\u0002 control chars \u007f",
    })
    void roundTrips(String text) {
        int[] ids = tok.encode(text, true);
        assertEquals(Llama2Tokenizer.BOS, ids[0]);
        for (int id : ids) assertTrue(id >= 0 && id < tok.vocabSize());
        // SentencePiece adds a dummy-prefix space that decoding after BOS removes again.
        assertEquals(text, tok.decode(ids));
    }

    @Test
    void emptyTextIsJustBos() {
        assertArrayEquals(new int[] {1}, tok.encode("", true));
        assertArrayEquals(new int[0], tok.encode("", false));
    }

    @Test
    void unknownCharactersUseByteFallback() {
        // U+2F800 is not in the vocabulary: its 4 UTF-8 bytes become ids byte+3.
        int[] ids = tok.encode("\uD87E\uDC00", false);
        byte[] utf8 = "\uD87E\uDC00".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(29871, ids[0]); // the dummy-prefix space piece
        assertEquals(utf8.length, ids.length - 1);
        for (int i = 0; i < utf8.length; i++) {
            assertEquals((utf8[i] & 0xff) + 3, ids[i + 1]);
        }
    }

    @Test
    void newlineIsByteToken13() {
        int[] ids = tok.encode("a\nb", false);
        assertTrue(java.util.Arrays.stream(ids).anyMatch(i -> i == 13), java.util.Arrays.toString(ids));
    }

    @Test
    void streamingReassemblesSplitCharacters() {
        String text = "naïve 🙂 ok";
        int[] ids = tok.encode(text, true);
        TextStream stream = new TextStream(tok);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            String part = stream.next(id);
            assertFalse(part.contains("\uFFFD"), "partial character leaked: " + part);
            sb.append(part);
        }
        sb.append(stream.flush());
        assertEquals(text, sb.toString());
    }

    @Test
    void rejectsOutOfRangeIds() {
        assertThrows(IllegalArgumentException.class, () -> tok.decodeBytes(1, 32000));
        assertThrows(IllegalArgumentException.class, () -> tok.decodeBytes(1, -1));
    }
}
