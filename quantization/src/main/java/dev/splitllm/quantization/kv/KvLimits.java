package dev.splitllm.quantization.kv;

/**
 * What the receiver of a KV delta frame expects: exactly the layer range [firstLayer, endLayer)
 * it is taking over, positions below {@code maxPositions} (its session length / KV capacity), rows
 * of {@code kvDim} floats (its model's head shape: kv heads x head size), frames of at most
 * {@code maxFrameBytes}, and, when {@code epoch >= 0}, exactly that epoch (older ones are stale).
 */
public final class KvLimits {
    private final int firstLayer;
    private final int endLayer;
    private final int maxPositions;
    private final int kvDim;
    private final int maxFrameBytes;
    private final long epoch;

    public KvLimits(int firstLayer, int endLayer, int maxPositions, int kvDim, int maxFrameBytes, long epoch) {
        if (firstLayer < 0 || endLayer <= firstLayer || endLayer > KvSpec.MAX_U16) {
            throw new IllegalArgumentException("invalid layer range [" + firstLayer + ", " + endLayer + ")");
        }
        if (maxPositions < 1 || kvDim < 1 || kvDim > KvSpec.MAX_U16 || maxFrameBytes < KvDeltaCodec.OVERHEAD_BYTES) {
            throw new IllegalArgumentException("invalid KV limits: positions " + maxPositions + ", kvDim " + kvDim
                    + ", frame bytes " + maxFrameBytes);
        }
        this.firstLayer = firstLayer;
        this.endLayer = endLayer;
        this.maxPositions = maxPositions;
        this.kvDim = kvDim;
        this.maxFrameBytes = maxFrameBytes;
        this.epoch = epoch;
    }

    /** Limits without an epoch check and a frame size large enough for every row the limits allow (capped at 2^31 - 16). */
    public static KvLimits of(int firstLayer, int endLayer, int maxPositions, int kvDim) {
        long full = KvDeltaCodec.OVERHEAD_BYTES + 8L * (endLayer - firstLayer) * maxPositions * kvDim;
        return new KvLimits(firstLayer, endLayer, maxPositions, kvDim, (int) Math.min(full, Integer.MAX_VALUE - 16), -1);
    }

    /** The same limits requiring {@code epoch}. */
    public KvLimits withEpoch(long epoch) {
        return new KvLimits(firstLayer, endLayer, maxPositions, kvDim, maxFrameBytes, epoch);
    }

    public int firstLayer() {
        return firstLayer;
    }

    public int endLayer() {
        return endLayer;
    }

    public int maxPositions() {
        return maxPositions;
    }

    public int kvDim() {
        return kvDim;
    }

    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    /** The required epoch, or -1 for none. */
    public long epoch() {
        return epoch;
    }
}
