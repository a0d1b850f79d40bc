package dev.splitllm.engine.gguf;

import dev.splitllm.quantization.weights.WeightFormat;

/**
 * ggml tensor types that may appear in a GGUF file, with their block geometry (ggml.c
 * {@code type_traits}). The engine computes directly on F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K
 * and Q6_K, whose block layouts are ggml's (k-quants stay in their blocks in memory). The other types are known
 * (so a file using them parses and is reported by name) but not loadable.
 */
public enum GgmlType {
    F32(0, 1, 4), F16(1, 1, 2), Q4_0(2, 32, 18), Q4_1(3, 32, 20), Q5_0(6, 32, 22), Q5_1(7, 32, 24),
    Q8_0(8, 32, 34), Q8_1(9, 32, 36), Q2_K(10, 256, 84), Q3_K(11, 256, 110), Q4_K(12, 256, 144),
    Q5_K(13, 256, 176), Q6_K(14, 256, 210), Q8_K(15, 256, 292), IQ2_XXS(16, 256, 66), IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98), IQ1_S(19, 256, 50), IQ4_NL(20, 32, 18), IQ3_S(21, 256, 110), IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136), I8(24, 1, 1), I16(25, 1, 2), I32(26, 1, 4), I64(27, 1, 8), F64(28, 1, 8),
    IQ1_M(29, 256, 56), BF16(30, 1, 2), TQ1_0(34, 256, 54), TQ2_0(35, 256, 66);

    /** The id stored in the file. */
    public final int id;
    /** Elements per block. */
    public final int blockSize;
    /** Bytes per block. */
    public final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** The type with this id, or null when ggml has none (or it was removed, like Q4_2). */
    public static GgmlType byId(long id) {
        for (GgmlType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }

    /** The engine format with the identical layout, or null when there is none. */
    public WeightFormat directFormat() {
        switch (this) {
            case F32: return WeightFormat.F32;
            case F16: return WeightFormat.F16;
            case BF16: return WeightFormat.BF16;
            case Q8_0: return WeightFormat.Q8_0;
            case Q4_0: return WeightFormat.Q4_0;
            case Q4_K: return WeightFormat.Q4_K;
            case Q5_K: return WeightFormat.Q5_K;
            case Q6_K: return WeightFormat.Q6_K;
            default: return null;
        }
    }

    /** The ggml type of an engine format. */
    public static GgmlType of(WeightFormat f) {
        switch (f) {
            case F32: return F32;
            case F16: return F16;
            case BF16: return BF16;
            case Q8_0: return Q8_0;
            case Q4_0: return Q4_0;
            case Q4_K: return Q4_K;
            case Q5_K: return Q5_K;
            case Q6_K: return Q6_K;
            default: throw new IllegalArgumentException("no ggml type for " + f);
        }
    }

    /** True when the loader can turn this type into engine weights (directly or by dequantizing). */
    public boolean loadable() {
        return directFormat() != null;
    }
}
