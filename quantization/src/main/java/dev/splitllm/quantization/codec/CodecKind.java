package dev.splitllm.quantization.codec;

import java.util.Locale;

/**
 * The family of an activation codec. The numeric {@link #code} is what travels in a frame's
 * codec-parameter block, so it must never be renumbered.
 */
public enum CodecKind {
    /** 32-bit floats, bit-exact (finite values only). */
    FP32(0),
    /** IEEE half precision, round to nearest even. */
    FP16(1),
    /** ggml Q8_0 layout: blocks of 32 with an fp16 absmax scale and int8 codes (8.5 bits/element). */
    Q8_0(2),
    /** Per-token asymmetric min-max quantization at one fixed bit-width, no threshold splitting. */
    UNIFORM(3),
    /** Threshold splitting followed by token-wise adaptive bit quantization (TS + TAB-Q). */
    TABQ(4);

    /** Wire code of this kind. */
    public final int code;

    CodecKind(int code) {
        this.code = code;
    }

    /** Lower-case name as written in codec strings. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The kind with the given wire code, or null when none has it. */
    public static CodecKind fromCode(int code) {
        for (CodecKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        return null;
    }

    /** Parses "fp32", "fp16", "q8_0", "uniform", "tabq" (any case). */
    public static CodecKind parse(String s) {
        for (CodecKind k : values()) {
            if (k.id().equalsIgnoreCase(s.trim())) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown codec '" + s + "' (expected one of fp32, fp16, q8_0, uniform, tabq)");
    }

    /** True for the kinds whose decode equals the input (FP32) or its fp16 rounding (FP16). */
    public boolean lossless() {
        return this == FP32 || this == FP16;
    }
}
