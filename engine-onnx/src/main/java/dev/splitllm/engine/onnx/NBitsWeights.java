package dev.splitllm.engine.onnx;

import dev.splitllm.engine.tensor.Q4_0Matrix;
import dev.splitllm.engine.tensor.Q8_0Matrix;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.Half;

/**
 * Engine Q4_0 / Q8_0 blocks repacked, without loss, for ONNX Runtime's
 * {@code com.microsoft.MatMulNBits}: B as uint8 [N, K/32, blob] and float scales [N * K/32],
 * block size 32, no zero-point input (the default zero point 2^(bits-1) is exactly Q4_0's
 * offset 8; Q8_0's signed bytes are shifted by 128 to match it). Q4_0 stores element j in the
 * low nibble and j+16 in the high nibble of byte j; MatMulNBits wants elements 2i and 2i+1 in
 * byte i, so nibbles are reordered. Several matrices with the same format and column count
 * are stacked by rows, like {@link WeightExport#stacked}.
 */
final class NBitsWeights {
    static final int BLOCK = 32;

    final int bits;
    final int rows;
    final int cols;
    final byte[] blobs;
    final float[] scales;

    private NBitsWeights(int bits, int rows, int cols, byte[] blobs, float[] scales) {
        this.bits = bits;
        this.rows = rows;
        this.cols = cols;
        this.blobs = blobs;
        this.scales = scales;
    }

    int blocksPerRow() {
        return cols / BLOCK;
    }

    int blobBytes() {
        return BLOCK * bits / 8;
    }

    /** True when every part is Q4_0, or every part is Q8_0, with one column count. */
    static boolean supports(WeightMatrix... parts) {
        boolean q4 = true, q8 = true;
        for (WeightMatrix m : parts) {
            q4 &= m instanceof Q4_0Matrix;
            q8 &= m instanceof Q8_0Matrix;
            if (m.cols() != parts[0].cols()) {
                return false;
            }
        }
        return q4 || q8;
    }

    static NBitsWeights of(WeightMatrix... parts) {
        if (!supports(parts)) {
            throw new IllegalArgumentException("MatMulNBits needs all-Q4_0 or all-Q8_0 matrices of equal width");
        }
        boolean q4 = parts[0] instanceof Q4_0Matrix;
        int bits = q4 ? 4 : 8;
        int cols = parts[0].cols(), blocks = cols / BLOCK, blob = BLOCK * bits / 8;
        long rowsTotal = 0;
        for (WeightMatrix m : parts) {
            rowsTotal += m.rows();
        }
        if (rowsTotal * blocks * blob > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("quantized matrices exceed 2 GiB; ONNX external data is not supported");
        }
        int rows = (int) rowsTotal;
        byte[] out = new byte[rows * blocks * blob];
        float[] scales = new float[rows * blocks];
        int block = 0;
        for (WeightMatrix m : parts) {
            byte[] src = q4 ? ((Q4_0Matrix) m).data() : ((Q8_0Matrix) m).data();
            int srcBlock = 2 + blob; // fp16 scale then the payload, llama.cpp layout
            for (int b = 0; b < m.rows() * blocks; b++, block++) {
                int p = b * srcBlock, o = block * blob;
                scales[block] = Half.toFloat((short) ((src[p] & 0xff) | (src[p + 1] << 8)));
                if (q4) {
                    for (int i = 0; i < 16; i++) {
                        int lo = nibble(src, p + 2, 2 * i), hi = nibble(src, p + 2, 2 * i + 1);
                        out[o + i] = (byte) (lo | (hi << 4));
                    }
                } else {
                    for (int j = 0; j < 32; j++) {
                        out[o + j] = (byte) (src[p + 2 + j] + 128);
                    }
                }
            }
        }
        return new NBitsWeights(bits, rows, cols, out, scales);
    }

    /** Q4_0 element e (0..31) of the block whose nibbles start at {@code base}. */
    private static int nibble(byte[] src, int base, int e) {
        return e < 16 ? src[base + e] & 0x0f : (src[base + e - 16] >> 4) & 0x0f;
    }
}
