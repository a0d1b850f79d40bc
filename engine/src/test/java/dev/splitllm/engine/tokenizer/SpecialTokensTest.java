package dev.splitllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.splitllm.engine.TestModel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** llama.cpp's parse_special partition (tokenizer_st_partition) and its use in the SentencePiece path. */
class SpecialTokensTest {
    static final String[] TEXTS = {"a", "<|im_start|>", "<|im", "<tool>", "b"};

    @Test
    void longestFirstControlOnlyWhenParsingUserDefinedAlways() {
        SpecialTokens st = new SpecialTokens(TEXTS, new int[] {1, 2, 3}, new boolean[] {false, false, true});
        List<SpecialTokens.Fragment> on = st.split("x<|im_start|>y<|im<tool>", true);
        assertEquals(List.of(new SpecialTokens.Fragment("x", -1), new SpecialTokens.Fragment("<|im_start|>", 1),
                new SpecialTokens.Fragment("y", -1), new SpecialTokens.Fragment("<|im", 2), new SpecialTokens.Fragment("<tool>", 3)), on);
        List<SpecialTokens.Fragment> off = st.split("x<|im_start|>y<tool>", false);
        assertEquals(List.of(new SpecialTokens.Fragment("x<|im_start|>y", -1), new SpecialTokens.Fragment("<tool>", 3)), off);
    }

    @Test
    void sentencePieceAddsTheSpacePrefixAfterEachSpecialToken() {
        Llama2Tokenizer tok = TestModel.tokenizer(); // the BOS piece is "\n<s>\n" in llama2.c's vocabulary
        String bos = new String(tok.piece(1), StandardCharsets.UTF_8);
        int[] parsed = tok.encode("Hello" + bos + "world", false, true);
        int[] hello = tok.encode("Hello", false, false), world = tok.encode("world", false, false);
        int[] expected = new int[hello.length + 1 + world.length];
        System.arraycopy(hello, 0, expected, 0, hello.length);
        expected[hello.length] = 1;
        System.arraycopy(world, 0, expected, hello.length + 1, world.length);
        assertArrayEquals(expected, parsed);
        assertTrue(Arrays.stream(tok.encode("Hello" + bos + "world", false, false)).noneMatch(i -> i == 1),
                "without special parsing the BOS text is ordinary text");
    }
}
