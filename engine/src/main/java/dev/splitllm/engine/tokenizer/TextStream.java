package dev.splitllm.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns a stream of token ids into text as they arrive. Byte-fallback tokens can split one
 * UTF-8 character over several tokens, so incomplete sequences wait for the next token.
 */
public final class TextStream {
    private final Tokenizer tokenizer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private int previous;

    public TextStream(Tokenizer tokenizer) {
        this(tokenizer, tokenizer.bos());
    }

    /**
     * A stream that continues after {@code previous} (e.g. the last prompt token), so the first
     * piece keeps its leading space; only a piece right after BOS loses it.
     */
    public TextStream(Tokenizer tokenizer, int previous) {
        this.tokenizer = tokenizer;
        this.previous = previous;
    }

    /** Text completed by this token (possibly empty). */
    public String next(int token) {
        byte[] bytes = tokenizer.decodeBytes(previous, token);
        previous = token;
        pending.write(bytes, 0, bytes.length);
        byte[] all = pending.toByteArray();
        int complete = completePrefix(all);
        pending.reset();
        pending.write(all, complete, all.length - complete);
        return decode(all, complete);
    }

    /** Whatever is still buffered, with malformed bytes replaced. */
    public String flush() {
        byte[] all = pending.toByteArray();
        pending.reset();
        return new String(all, StandardCharsets.UTF_8);
    }

    /** Length of the longest prefix that does not end inside a (possibly valid) UTF-8 sequence. */
    static int completePrefix(byte[] b) {
        int n = b.length;
        // Look back at most 3 bytes for a lead byte whose sequence is not finished.
        for (int back = 1; back <= Math.min(3, n); back++) {
            int c = b[n - back] & 0xff;
            if ((c & 0xc0) == 0x80) {
                continue; // continuation byte, keep looking for the lead
            }
            int need = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }

    private static String decode(byte[] b, int len) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
        try {
            CharBuffer cb = dec.decode(ByteBuffer.wrap(b, 0, len));
            return cb.toString();
        } catch (CharacterCodingException e) {
            throw new IllegalStateException(e); // unreachable with REPLACE
        }
    }
}
