package dev.splitllm.quantization.wire;

import dev.splitllm.quantization.codec.ActivationCodec;

/**
 * What a receiver accepts; checked before anything proportional to a frame's claims is allocated.
 *
 * @param maxTokens     largest T
 * @param maxDim        largest d (at most {@link ActivationCodec#MAX_DIM})
 * @param maxFrameBytes largest frame on the wire, and largest payload after zstd decompression
 */
public record FrameLimits(int maxTokens, int maxDim, int maxFrameBytes) {

    /** Checks the limits themselves. */
    public FrameLimits {
        if (maxTokens < 1 || maxDim < 1 || maxDim > ActivationCodec.MAX_DIM || maxFrameBytes < FrameCodec.MIN_FRAME_BYTES) {
            throw new IllegalArgumentException("bad frame limits: tokens " + maxTokens + ", dim " + maxDim + " (max "
                    + ActivationCodec.MAX_DIM + "), frame bytes " + maxFrameBytes + " (min " + FrameCodec.MIN_FRAME_BYTES + ")");
        }
    }

    /**
     * 4,096 tokens, d up to 8,192, 32 MiB frames. A receiver should set maxDim to its model's d and
     * maxTokens to its context length: decoding never allocates more than 4·maxTokens·maxDim bytes
     * of activations plus maxFrameBytes of decompressed payload.
     */
    public static FrameLimits defaults() {
        return new FrameLimits(4096, 8192, 32 << 20);
    }
}
