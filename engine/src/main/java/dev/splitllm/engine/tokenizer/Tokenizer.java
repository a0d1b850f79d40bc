package dev.splitllm.engine.tokenizer;

/** Text to token ids and back. */
public interface Tokenizer {

    int vocabSize();

    /** Beginning-of-sequence id, or -1 if the vocabulary has none. */
    int bos();

    /** End-of-sequence id, or -1 if the vocabulary has none. */
    int eos();

    /** Token ids for text, with a leading BOS when {@code addBos}. */
    int[] encode(String text, boolean addBos);

    /**
     * Token ids for text with llama.cpp's {@code parse_special}: when true, special tokens written
     * in the text (e.g. {@code <|im_start|>}) become their ids ({@link SpecialTokens}); when false
     * they are ordinary text. Chat prompts rendered from a template need true.
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    /**
     * The raw bytes token {@code token} contributes after {@code previous} (a piece may be a
     * lone byte of a multi-byte UTF-8 character; {@link TextStream} reassembles them).
     */
    byte[] decodeBytes(int previous, int token);

    /** Decodes a whole sequence to text (malformed UTF-8 becomes U+FFFD). */
    default String decode(int[] tokens) {
        TextStream stream = new TextStream(this);
        StringBuilder sb = new StringBuilder();
        for (int t : tokens) {
            sb.append(stream.next(t));
        }
        return sb.append(stream.flush()).toString();
    }
}
