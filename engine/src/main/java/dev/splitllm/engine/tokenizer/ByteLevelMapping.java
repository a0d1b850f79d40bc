package dev.splitllm.engine.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * GPT-2's reversible byte-to-unicode mapping ({@code bytes_to_unicode} in OpenAI's encoder.py,
 * the {@code ByteLevel} pre-tokenizer in Hugging Face tokenizers): printable Latin-1 bytes map to
 * themselves, the other 68 bytes to U+0100 onwards in byte order, so every byte string becomes a
 * string without spaces or control characters (a space becomes {@code Ġ}, U+0120).
 */
public final class ByteLevelMapping {
    private ByteLevelMapping() {}

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    /** The mapped character of one byte. */
    public static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xff];
    }

    /** The byte a mapped character stands for, or -1 when it is not a mapped character. */
    public static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** Text's UTF-8 bytes, each replaced by its mapped character. */
    public static String encode(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            out[i] = BYTE_TO_CHAR[utf8[i] & 0xff];
        }
        return new String(out);
    }

    /**
     * The bytes a token string stands for: mapped characters become their byte, any other
     * character (in added tokens written as plain text) its UTF-8 encoding.
     */
    public static byte[] decode(String token) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(token.length());
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = byteOf(c);
            if (b >= 0) {
                out.write(b);
            } else {
                int cp = token.codePointAt(i);
                byte[] u = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                out.write(u, 0, u.length);
                i += Character.charCount(cp) - 1;
            }
        }
        return out.toByteArray();
    }
}
