package dev.splitllm.eval;

/**
 * Running totals of what crossed the cut: payload bits and activation elements, kept apart for
 * prefill frames (a whole prompt or text window at once) and decode frames (one token each).
 * Bits include every byte of the codec payload (per-token side information, outliers, the zstd
 * header); the frame header of the wire protocol is not counted. Not thread-safe.
 */
public final class BitsTally {
    private long prefillBits, prefillElements, prefillFrames;
    private long decodeBits, decodeElements, decodeFrames;

    /** Records one frame of {@code elements} activations that took {@code bits} bits. */
    public void add(boolean prefill, long bits, long elements) {
        if (bits < 0 || elements <= 0) {
            throw new IllegalArgumentException("bits must be >= 0 and elements > 0, got " + bits + ", " + elements);
        }
        if (prefill) {
            prefillBits += bits;
            prefillElements += elements;
            prefillFrames++;
        } else {
            decodeBits += bits;
            decodeElements += elements;
            decodeFrames++;
        }
    }

    /** Adds another tally's totals to this one. */
    public void addAll(BitsTally o) {
        prefillBits += o.prefillBits;
        prefillElements += o.prefillElements;
        prefillFrames += o.prefillFrames;
        decodeBits += o.decodeBits;
        decodeElements += o.decodeElements;
        decodeFrames += o.decodeFrames;
    }

    /** Bits per element over prefill frames (NaN when none). */
    public double prefillBitsPerElement() {
        return prefillElements == 0 ? Double.NaN : (double) prefillBits / prefillElements;
    }

    /** Bits per element over decode frames (NaN when none). */
    public double decodeBitsPerElement() {
        return decodeElements == 0 ? Double.NaN : (double) decodeBits / decodeElements;
    }

    /** Bits per element over all frames (NaN when none). */
    public double bitsPerElement() {
        long e = prefillElements + decodeElements;
        return e == 0 ? Double.NaN : (double) (prefillBits + decodeBits) / e;
    }

    /**
     * Bits per element of the prefill frames with a fixed frame overhead of {@code frameBytes}
     * per frame added (the wire header, lengths and CRC: 68 bytes in version 1, 80 in version 2).
     */
    public double prefillBitsPerElementWithFrames(int frameBytes) {
        return prefillElements == 0 ? Double.NaN : (prefillBits + 8.0 * frameBytes * prefillFrames) / prefillElements;
    }

    /** As {@link #prefillBitsPerElementWithFrames} for the decode frames. */
    public double decodeBitsPerElementWithFrames(int frameBytes) {
        return decodeElements == 0 ? Double.NaN : (decodeBits + 8.0 * frameBytes * decodeFrames) / decodeElements;
    }

    public long prefillFrames() {
        return prefillFrames;
    }

    public long decodeFrames() {
        return decodeFrames;
    }
}
