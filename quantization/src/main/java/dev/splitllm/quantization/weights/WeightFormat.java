package dev.splitllm.quantization.weights;

import java.util.Locale;

/**
 * How a weight tensor is stored. Block layouts follow llama.cpp (ggml) so GGUF tensors map
 * directly: a row of n weights is n / blockSize blocks of blockBytes each.
 */
public enum WeightFormat {
    /** 32-bit IEEE float. */
    F32(1, 4),
    /** IEEE half precision. */
    F16(1, 2),
    /** bfloat16: the upper 16 bits of a float. */
    BF16(1, 2),
    /** Blocks of 32: fp16 scale d, then 32 signed bytes q; value = q * d. 8.5 bits a weight. */
    Q8_0(32, 34),
    /** Blocks of 32: fp16 scale d, then 16 bytes of nibbles (element j low, j+16 high); value = (q - 8) * d. 4.5 bits a weight. */
    Q4_0(32, 18),
    /** ggml k-quant super-blocks of 256: 8 sub-blocks of 32 with 6-bit scales and mins, 4-bit codes. 4.5 bits a weight. */
    Q4_K(256, 144),
    /** As Q4_K with a fifth bit per code. 5.5 bits a weight. */
    Q5_K(256, 176),
    /** ggml k-quant super-blocks of 256: 16 sub-blocks of 16 with 8-bit scales, 6-bit codes. 6.5625 bits a weight. */
    Q6_K(256, 210);

    /** Elements per block (1 for the float formats). */
    public final int blockSize;
    /** Bytes per block. */
    public final int blockBytes;

    WeightFormat(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Storage bytes for n elements; n must be a multiple of the block size. */
    public long bytesFor(long n) {
        if (n % blockSize != 0) {
            throw new IllegalArgumentException(this + " needs a multiple of " + blockSize + " elements, got " + n);
        }
        return n / blockSize * blockBytes;
    }

    /** Bits per weight, scales included. */
    public double bitsPerWeight() {
        return 8.0 * blockBytes / blockSize;
    }

    /** Parses "f32", "q8_0", "Q4_0", ... with a clear message on failure. */
    public static WeightFormat parse(String s) {
        for (WeightFormat f : values()) {
            if (f.name().equalsIgnoreCase(s.trim())) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown weight format '" + s + "' (expected one of f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k)");
    }

    /** True for the k-quant formats (super-blocks of 256; a row length must be a multiple of 256). */
    public boolean kQuant() {
        return blockSize == KQuantizer.QK_K;
    }

    /**
     * The format a matrix with rows of {@code cols} weights is stored in when this one is asked
     * for: itself, except that a k-quant needs rows of a multiple of 256 and falls back to Q8_0
     * otherwise (llama.cpp also falls back for such tensors; Q8_0 so that quality is never below
     * the request). stories15M's rows of 288 fall back; a 1B model's rows do not.
     */
    public WeightFormat forRowLength(long cols) {
        return kQuant() && cols % blockSize != 0 ? Q8_0 : this;
    }

    /** Lower-case name as used on the command line and in plan files. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
