package dev.splitllm.fetch;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Converts an old-style llama2.c {@code tokenizer.bin}, whose byte-fallback pieces (ids
 * 3..258) hold the raw byte, to the current style, where piece {@code 3 + b} is the ASCII text
 * {@code <0xHH>} (upper-case hex). Scores, the header and every other piece are copied
 * unchanged. Without this, raw single-byte pieces duplicate ordinary pieces such as "a", and
 * a lookup by piece can find the wrong id.
 */
public final class ByteFallbackRewriter {
    private ByteFallbackRewriter() {}

    /** First byte-fallback id (after unk, BOS, EOS). */
    public static final int FIRST_BYTE_ID = 3;
    private static final int MAX_PIECE_BYTES = 1024;

    /**
     * Rewrites {@code raw} (int32 max_token_length, then {@code vocabSize} × (float32 score,
     * int32 length, bytes), little-endian). Fails on a truncated or oversized input, or on
     * bytes left after the last piece.
     */
    public static byte[] rewrite(byte[] raw, int vocabSize) throws FetchException {
        if (vocabSize < FIRST_BYTE_ID + 256) {
            throw new IllegalArgumentException("vocabulary of " + vocabSize + " pieces has no byte-fallback range");
        }
        ByteBuffer in = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < 4) {
            throw new FetchException("tokenizer data too short for its header (" + raw.length + " bytes)");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length + 6 * 256);
        ByteBuffer rec = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        out.write(raw, 0, 4);
        in.position(4);
        for (int i = 0; i < vocabSize; i++) {
            if (in.remaining() < 8) {
                throw new FetchException("tokenizer data truncated at piece " + i + " of " + vocabSize);
            }
            float score = in.getFloat();
            int len = in.getInt();
            if (len < 0 || len > MAX_PIECE_BYTES || len > in.remaining()) {
                throw new FetchException("tokenizer piece " + i + " has invalid length " + len);
            }
            byte[] piece = new byte[len];
            in.get(piece);
            if (i >= FIRST_BYTE_ID && i < FIRST_BYTE_ID + 256) {
                piece = String.format(Locale.ROOT, "<0x%02X>", i - FIRST_BYTE_ID).getBytes(StandardCharsets.US_ASCII);
            }
            rec.clear();
            rec.putFloat(score).putInt(piece.length);
            out.write(rec.array(), 0, 8);
            out.write(piece, 0, piece.length);
        }
        if (in.hasRemaining()) {
            throw new FetchException("tokenizer data has " + in.remaining() + " bytes after its " + vocabSize + " pieces");
        }
        return out.toByteArray();
    }
}
