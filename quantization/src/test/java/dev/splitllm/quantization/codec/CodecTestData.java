package dev.splitllm.quantization.codec;

import java.util.Random;

/** Seeded activation blocks for the codec tests. */
final class CodecTestData {
    private CodecTestData() {}

    /** Gaussian rows with per-row scale, a few big channels and some exact zeros. */
    static float[] activations(Random random, int tokens, int dim) {
        float[] x = new float[tokens * dim];
        for (int t = 0; t < tokens; t++) {
            float scale = (float) Math.exp(random.nextGaussian());
            for (int c = 0; c < dim; c++) {
                float v = (float) random.nextGaussian() * scale;
                int roll = random.nextInt(100);
                if (roll == 0) {
                    v = 0f;
                } else if (roll == 1) {
                    v *= 12f;
                }
                x[t * dim + c] = v;
            }
        }
        return x;
    }

    /** Byte offsets of each token record in an uncompressed UNIFORM/TABQ payload. */
    static int[] recordOffsets(byte[] payload, int tokens, int dim, boolean thresholdSplit, int sessionChannels) {
        int[] offsets = new int[tokens + 1];
        int p = 0;
        for (int t = 0; t < tokens; t++) {
            offsets[t] = p;
            int bits = payload[p] & 0xff;
            p += 4 + (int) BitPacker.packedBytes(dim, bits);
            if (thresholdSplit) {
                int n = (payload[p] & 0xff) | (payload[p + 1] & 0xff) << 8;
                p += 2 + 4 * n;
            }
            p += 2 * sessionChannels;
        }
        offsets[tokens] = p;
        return offsets;
    }

    /** fp16 scale stored at byte {@code at}. */
    static float halfAt(byte[] payload, int at) {
        return dev.splitllm.quantization.Half.toFloat((short) ((payload[at] & 0xff) | (payload[at + 1] & 0xff) << 8));
    }
}
