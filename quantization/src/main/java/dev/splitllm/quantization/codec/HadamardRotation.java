package dev.splitllm.quantization.codec;

/**
 * Block-wise randomized Hadamard rotation of a row: {@code y = H_B (s ⊙ x) / sqrt(B)} on each block
 * of B consecutive channels, where s are fixed random signs. It is orthonormal, so it keeps the
 * squared norm and the inverse is {@code x = s ⊙ (H_B y) / sqrt(B)}. Spreading a large channel over
 * its block shrinks the min-max range the quantizer has to cover.
 *
 * <p>B is the largest power of two that divides d, capped at {@link #MAX_BLOCK} (d = 288 gives 32,
 * d = 2048 gives 128; an odd d gives B = 1, signs only). Sign of channel c: bit {@code c mod 64} of
 * SplitMix64 of {@code seed + (c / 64 + 1) * 0x9E3779B97F4A7C15} (1 = negative), so any implementation can
 * reproduce it.
 */
public final class HadamardRotation {
    /** Largest block size used. */
    public static final int MAX_BLOCK = 128;

    private final int dim;
    private final int block;
    /** Sign of each channel times 1/sqrt(B), applied once on each side of the transform. */
    private final float[] scaledSigns;

    /** The rotation for rows of {@code dim} channels with signs from {@code seed}. */
    public HadamardRotation(int dim, long seed) {
        if (dim < 1) {
            throw new IllegalArgumentException("dim must be >= 1, got " + dim);
        }
        this.dim = dim;
        this.block = Math.min(MAX_BLOCK, Integer.lowestOneBit(dim));
        // Folding 1/sqrt(B) into the signs saves a pass over the row on each side.
        float norm = (float) (1.0 / Math.sqrt(block));
        this.scaledSigns = new float[dim];
        long bitsLeft = 0;
        for (int c = 0; c < dim; c++) {
            if ((c & 63) == 0) {
                bitsLeft = splitMix64(seed + ((long) (c >>> 6) + 1) * 0x9E3779B97F4A7C15L);
            }
            scaledSigns[c] = ((bitsLeft >>> (c & 63)) & 1) != 0 ? -norm : norm;
        }
    }

    /** Channels per row. */
    public int dim() {
        return dim;
    }

    /** Hadamard block size B. */
    public int block() {
        return block;
    }

    /** Rotates {@code row[offset, offset + dim)} in place. */
    public void forward(float[] row, int offset) {
        if (block < 4) {
            for (int c = 0; c < dim; c++) {
                row[offset + c] *= scaledSigns[c];
            }
            transformSmall(row, offset);
            return;
        }
        firstPass(row, offset, true);
        laterPasses(row, offset);
    }

    /** Undoes {@link #forward} in place. */
    public void inverse(float[] row, int offset) {
        if (block < 4) {
            transformSmall(row, offset);
            for (int c = 0; c < dim; c++) {
                row[offset + c] *= scaledSigns[c];
            }
            return;
        }
        firstPass(row, offset, false);
        laterPasses(row, offset);
        for (int c = 0; c < dim; c++) {
            row[offset + c] *= scaledSigns[c];
        }
    }

    /** Blocks of 1 or 2: signs only, or one butterfly per pair. */
    private void transformSmall(float[] x, int offset) {
        if (block == 2) {
            for (int i = offset; i < offset + dim; i += 2) {
                float a = x[i], b = x[i + 1];
                x[i] = a + b;
                x[i + 1] = a - b;
            }
        }
    }

    /**
     * The butterfly stages of half-width 1 and 2 in one pass (radix 4), with the signs applied on
     * the way in when {@code signs} (forward). The fast Walsh-Hadamard transform is in place and
     * O(d log B); fusing stages two at a time halves the passes over the row. Each butterfly is the
     * same float operation as in the stage-by-stage form, so the result is bit-identical to it.
     */
    private void firstPass(float[] x, int offset, boolean signs) {
        float[] sg = scaledSigns;
        for (int c = 0; c < dim; c += 4) {
            int i = offset + c;
            float a = x[i], b = x[i + 1], e = x[i + 2], f = x[i + 3];
            if (signs) {
                a *= sg[c];
                b *= sg[c + 1];
                e *= sg[c + 2];
                f *= sg[c + 3];
            }
            float s0 = a + b, d0 = a - b, s1 = e + f, d1 = e - f;
            x[i] = s0 + s1;
            x[i + 1] = d0 + d1;
            x[i + 2] = s0 - s1;
            x[i + 3] = d0 - d1;
        }
    }

    /** The stages of half-width 4 .. B/2, two at a time (radix 4), the last alone when their count is odd. */
    private void laterPasses(float[] x, int offset) {
        int end = offset + dim;
        int h = 4;
        for (; 4 * h <= block; h *= 4) {
            int span = 4 * h;
            for (int base = offset; base < end; base += span) {
                for (int j = base; j < base + h; j++) {
                    float a = x[j], b = x[j + h], e = x[j + 2 * h], f = x[j + 3 * h];
                    float s0 = a + b, d0 = a - b, s1 = e + f, d1 = e - f;
                    x[j] = s0 + s1;
                    x[j + h] = d0 + d1;
                    x[j + 2 * h] = s0 - s1;
                    x[j + 3 * h] = d0 - d1;
                }
            }
        }
        if (h < block) { // one stage left: half-width h = B/2
            for (int base = offset; base < end; base += 2 * h) {
                for (int j = base; j < base + h; j++) {
                    float a = x[j], b = x[j + h];
                    x[j] = a + b;
                    x[j + h] = a - b;
                }
            }
        }
    }

    /** SplitMix64 output function (Steele, Lea, Flood 2014). */
    static long splitMix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
