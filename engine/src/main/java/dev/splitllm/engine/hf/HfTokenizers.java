package dev.splitllm.engine.hf;

import dev.splitllm.engine.ModelFormatException;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the tokenizer of a Hugging Face directory: a llama2.c {@code tokenizer.bin} (what
 * {@code convert --format safetensors} writes for SentencePiece-style vocabularies; pure Java),
 * else {@code tokenizer.json} through DJL's Hugging Face tokenizers.
 *
 * <p>DJL is an optional dependency of the engine: the adapter
 * ({@code dev.splitllm.engine.hf.djl.DjlTokenizer}) is loaded by name only here, so builds that
 * leave DJL out (Android) never load it and get a clear error only when they open a
 * {@code tokenizer.json}.
 */
public final class HfTokenizers {
    private HfTokenizers() {}

    static final String DJL_ADAPTER = "dev.splitllm.engine.hf.djl.DjlTokenizer";

    /** The directory's tokenizer, or null when it has none. */
    public static Tokenizer load(Path dir, HfConfig hf) throws IOException {
        int vocab = hf.config().vocabSize();
        Path bin = dir.resolve("tokenizer.bin");
        if (Files.isRegularFile(bin)) {
            return Llama2Tokenizer.load(bin, vocab);
        }
        Path json = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) {
            return null;
        }
        Class<?> adapter;
        try {
            adapter = Class.forName(DJL_ADAPTER);
            adapter.getMethod("open", Path.class, int.class, int.class, int.class); // resolves the DJL classes
        } catch (ClassNotFoundException | NoClassDefFoundError | NoSuchMethodException e) {
            throw new ModelFormatException(json + ": reading tokenizer.json needs DJL's tokenizers library "
                    + "(ai.djl.huggingface:tokenizers) on the class path, which this build lacks");
        }
        try {
            return (Tokenizer) adapter.getMethod("open", Path.class, int.class, int.class, int.class)
                    .invoke(null, json, vocab, hf.bosTokenId(), hf.eosTokenId());
        } catch (InvocationTargetException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException) throw (IOException) c;
            if (c instanceof RuntimeException) throw (RuntimeException) c;
            throw new ModelFormatException(json + ": " + c);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
