package dev.splitllm.quantization.codec;

import dev.splitllm.quantization.Half;

/** Shared numeric helpers for the quantizers: fp16 scales that never shrink the range. */
final class ScaleMath {
    private ScaleMath() {}

    /**
     * The smallest fp16 value {@code >= v}, as fp16 bits. Rounding the scale up (not to nearest)
     * keeps every value of the row inside the quantizer's grid, so the clamp never adds error
     * beyond half a step.
     *
     * @throws IllegalArgumentException when v is negative, not finite or above the fp16 range
     */
    static short fp16Ceil(float v) {
        if (!(v >= 0f) || v > Half.MAX_VALUE) {
            throw new IllegalArgumentException("quantization scale " + v + " does not fit fp16 (max "
                    + Half.MAX_VALUE + "); the activation range is too wide, enable threshold splitting (tau)");
        }
        short h = Half.fromFloat(v);
        if (Half.toFloat(h) < v) {
            h++; // positive halves are ordered like their bit patterns
        }
        return h;
    }

    /** True when fp16 bits hold a finite, non-negative value (what a scale must be). */
    static boolean validScale(int halfBits) {
        return (halfBits & 0x8000) == 0 && (halfBits & 0x7c00) != 0x7c00;
    }

    /** True when fp16 bits hold a finite value. */
    static boolean finiteHalf(int halfBits) {
        return (halfBits & 0x7c00) != 0x7c00;
    }
}
