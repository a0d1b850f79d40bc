package dev.splitllm.engine.tokenizer;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The regular expressions that split text into words before byte-level BPE, by the name
 * llama.cpp stores in {@code tokenizer.ggml.pre}. Java's regex engine runs them as they are
 * written for Hugging Face tokenizers, with {@link Pattern#UNICODE_CHARACTER_CLASS} so that
 * {@code \s} is Unicode white space as in the Rust and Python engines.
 */
public enum PreTokenizerPattern {
    /** GPT-2 (also the default of Hugging Face's {@code ByteLevel} pre-tokenizer). */
    GPT2("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"),
    /** Llama 3 ({@code llama-bpe}): case-insensitive contractions, digits in runs of at most 3. */
    LLAMA3("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
    /** Qwen2: like Llama 3 but one digit per word. */
    QWEN2("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");

    /** The regex source, as in the models' tokenizer.json. */
    public final String regex;
    private final Pattern pattern;

    PreTokenizerPattern(String regex) {
        this.regex = regex;
        this.pattern = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    public Pattern pattern() {
        return pattern;
    }

    /** By llama.cpp's {@code tokenizer.ggml.pre} name; null for a name this class does not know. */
    public static PreTokenizerPattern byGgufName(String pre) {
        if (pre == null) return GPT2;
        switch (pre.toLowerCase(Locale.ROOT)) {
            case "default": case "gpt2": case "gpt-2": return GPT2;
            case "llama3": case "llama-bpe": case "llama-v3": case "smaug-bpe": return LLAMA3;
            case "qwen2": case "qwen": case "deepseek-r1-qwen": return QWEN2;
            default: return null;
        }
    }

    /** The llama.cpp name written to GGUF files. */
    public String ggufName() {
        switch (this) {
            case LLAMA3: return "llama-bpe";
            case QWEN2: return "qwen2";
            default: return "gpt2";
        }
    }
}
