package dev.splitllm.engine.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Converts q/k projection rows between the two RoPE conventions. The engine rotates
 * consecutive pairs (2i, 2i+1) of each head (llama2.c, GGUF {@code llama}); Hugging Face
 * checkpoints and GGUF {@code qwen2} rotate halves (i, i + hs/2). llama.cpp's converter maps the
 * second to the first with {@code w.reshape(heads, 2, hs/2, ...).swapaxes(1, 2)}: within each
 * head, new row {@code 2i + j} is old row {@code j * hs/2 + i}. This class does the same.
 */
public final class RopePermutation {
    private RopePermutation() {}

    /** Old row index feeding new row {@code r} for rows split into {@code heads} heads. */
    public static int sourceRow(int r, int rows, int heads) {
        int hs = rows / heads;
        int h = r / hs, k = r % hs;
        int i = k >> 1, j = k & 1;
        return h * hs + j * (hs / 2) + i;
    }

    /** A permuted copy of {@code rows} rows of {@code rowBytes} bytes each. */
    public static ByteBuffer permuteRows(ByteBuffer src, int rows, int rowBytes, int heads) {
        check(rows, heads);
        ByteBuffer out = ByteBuffer.allocate(rows * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
        byte[] row = new byte[rowBytes];
        for (int r = 0; r < rows; r++) {
            ByteBuffer from = src.duplicate();
            from.position(sourceRow(r, rows, heads) * rowBytes);
            from.get(row);
            out.put(row);
        }
        return out.flip();
    }

    /** A permuted copy of a vector (e.g. a q or k bias). */
    public static float[] permute(float[] v, int heads) {
        check(v.length, heads);
        float[] out = new float[v.length];
        for (int r = 0; r < v.length; r++) {
            out[r] = v[sourceRow(r, v.length, heads)];
        }
        return out;
    }

    /** A permuted copy of a row-major rows x cols float matrix. */
    public static float[] permuteMatrix(float[] m, int rows, int cols, int heads) {
        check(rows, heads);
        float[] out = new float[m.length];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(m, sourceRow(r, rows, heads) * cols, out, r * cols, cols);
        }
        return out;
    }

    /** The inverse: new row {@code j * hs/2 + i} is old row {@code 2i + j} (engine to rotate-half). */
    public static float[] unpermuteMatrix(float[] m, int rows, int cols, int heads) {
        check(rows, heads);
        float[] out = new float[m.length];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(m, r * cols, out, sourceRow(r, rows, heads) * cols, cols);
        }
        return out;
    }

    private static void check(int rows, int heads) {
        if (heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0) {
            throw new IllegalArgumentException(rows + " rows do not split into " + heads + " heads of even size");
        }
    }
}
