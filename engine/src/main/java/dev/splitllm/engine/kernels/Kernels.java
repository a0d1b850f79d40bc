package dev.splitllm.engine.kernels;

/**
 * The inner loops of the engine: dot products of one weight row against one activation
 * vector, one method per weight storage format. Implementations are ranked (see
 * {@link KernelProvider}): the Vector API kernels where {@code jdk.incubator.vector} is
 * present, the plain-Java kernels everywhere else (Android has no Vector API).
 *
 * <p>Offsets are in elements of the array they index, except for the quantized formats,
 * whose weight offsets are in bytes and always at a block boundary.
 */
public interface Kernels {

    /** A short name for logs and {@code --verbose}, e.g. "vector-256" or "scalar". */
    String name();

    /** sum over i of a[aOff+i] * b[bOff+i], for i in [0, n). */
    float dotF32(float[] a, int aOff, float[] b, int bOff, int n);

    /** Dot product of n fp16 weights (IEEE half bits) with n floats. */
    float dotF16(short[] w, int wOff, float[] x, int xOff, int n);

    /** Dot product of n bf16 weights (upper 16 bits of a float) with n floats. */
    float dotBF16(short[] w, int wOff, float[] x, int xOff, int n);

    /**
     * Dot product of n Q8_0 weights (llama.cpp layout: per block of 32, an fp16 scale then
     * 32 signed bytes; 34 bytes a block) starting at byte wOff, with n floats. n is a multiple of 32.
     */
    float dotQ8_0(byte[] w, int wOff, float[] x, int xOff, int n);

    /**
     * Dot product of n Q4_0 weights (llama.cpp layout: per block of 32, an fp16 scale then
     * 16 bytes; element j&lt;16 in the low nibble of byte j, element j+16 in its high nibble;
     * value = (nibble - 8) * scale; 18 bytes a block) starting at byte wOff, with n floats.
     */
    float dotQ4_0(byte[] w, int wOff, float[] x, int xOff, int n);

    /**
     * Two Q4_0 rows at byte offsets a and b times the same x: out[outOff] and out[outOff + 1].
     * Two weight streams in one loop keep more memory reads in flight (decode of a model larger
     * than the caches is bound by them); x is loaded once for both.
     */
    default void dot2Q4_0(byte[] w, int a, int b, float[] x, int xOff, int n, float[] out, int outOff) {
        out[outOff] = dotQ4_0(w, a, x, xOff, n);
        out[outOff + 1] = dotQ4_0(w, b, x, xOff, n);
    }

    /** Four Q8_0 rows at byte offsets a, b, c, e times the same x, into out[outOff .. outOff + 3] (see {@link #dot2Q4_0}). */
    default void dot4Q8_0(byte[] w, int a, int b, int c, int e, float[] x, int xOff, int n, float[] out, int outOff) {
        out[outOff] = dotQ8_0(w, a, x, xOff, n);
        out[outOff + 1] = dotQ8_0(w, b, x, xOff, n);
        out[outOff + 2] = dotQ8_0(w, c, x, xOff, n);
        out[outOff + 3] = dotQ8_0(w, e, x, xOff, n);
    }

    /** Four Q4_0 rows at byte offsets a, b, c, e times the same x, into out[outOff .. outOff + 3]. */
    default void dot4Q4_0(byte[] w, int a, int b, int c, int e, float[] x, int xOff, int n, float[] out, int outOff) {
        dot2Q4_0(w, a, b, x, xOff, n, out, outOff);
        dot2Q4_0(w, c, e, x, xOff, n, out, outOff + 2);
    }

    /**
     * Dot product of n Q4_K weights (ggml layout, {@code KQuantizer}: 144-byte super-blocks of
     * 256) starting at byte wOff, with n floats; n a multiple of 256. Per sub-block of 32 the
     * codes and the activations are summed apart: d·sc·Σq·x − dmin·m·Σx.
     */
    float dotQ4_K(byte[] w, int wOff, float[] x, int xOff, int n);

    /** Two Q4_K rows at byte offsets a and b times the same x (see {@link #dot2Q4_0}). */
    default void dot2Q4_K(byte[] w, int a, int b, float[] x, int xOff, int n, float[] out, int outOff) {
        out[outOff] = dotQ4_K(w, a, x, xOff, n);
        out[outOff + 1] = dotQ4_K(w, b, x, xOff, n);
    }

    /** As {@link #dotQ4_K} for Q5_K (176-byte super-blocks, a fifth code bit in qh). */
    float dotQ5_K(byte[] w, int wOff, float[] x, int xOff, int n);

    /** Dot product of n Q6_K weights (210-byte super-blocks of 256, 16 scales of 16) with n floats. */
    float dotQ6_K(byte[] w, int wOff, float[] x, int xOff, int n);

    // ---- integer dot products against activations quantized once per matmul (Q8 blocks) ----
    //
    // An activation row of n floats (n a multiple of 32) is quantized by Q8Activations.quantize
    // into n signed bytes q (|q| <= 127) and n / 32 float scales d, one per block of 32, as
    // llama.cpp's quantize_row_q8_0 does (its scales are fp16; ours stay float). The kernels below
    // multiply weight codes by activation codes in integers and scale once per block:
    // sum over blocks of dw * dx * sum(qw * qx). qOff is in bytes of q, dOff in blocks of d.

    /**
     * Whether the quantized weight formats should run against Q8 activations with these kernels
     * (the integer kernels below) rather than against floats ({@link #dotQ8_0}, {@link #dotQ4_0}).
     * Both are correct; this is which is faster here (see docs/BENCHMARKS.md).
     */
    boolean prefersQ8Activations();

    /** Q8_0 weights (as in {@link #dotQ8_0}) times Q8 activations; n a multiple of 32. */
    float dotQ8_0Q8(byte[] w, int wOff, byte[] q, int qOff, float[] d, int dOff, int n);

    /** Q4_0 weights (as in {@link #dotQ4_0}) times Q8 activations; n a multiple of 32. */
    float dotQ4_0Q8(byte[] w, int wOff, byte[] q, int qOff, float[] d, int dOff, int n);


    /**
     * A 2 x 2 tile for F32 weights: rows a[a0 ..] and a[a0 + aStride ..] times activation rows
     * x[x0 ..] and x[x0 + xStride ..], n elements each, into out[outOff + i * rowStride + j * tokStride].
     * Each of the 4 results has exactly the bits {@link #dotF32} gives it (same accumulators, same
     * order), so an F32 prefill built from these tiles equals decoding token by token bit for bit;
     * the tile loads each weight and activation vector once for two products.
     */
    default void dot2x2F32(float[] a, int a0, int aStride, float[] x, int x0, int xStride, int n, float[] out, int outOff,
                           int rowStride, int tokStride) {
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 2; j++) {
                out[outOff + i * rowStride + j * tokStride] = dotF32(a, a0 + i * aStride, x, x0 + j * xStride, n);
            }
        }
    }

    /** Rows of a transposed prefill panel ({@link #panel32}). */
    int PANEL_ROWS = 32;

    /**
     * Prefill against a decoded weight panel stored transposed, k-major: p[k * 32 + r] is row r's
     * weight k (32 rows, n weights each). For nt (1..4) activation rows x[x0 + j * xStride ..],
     * out[outOff + j * tokStride + r] = the sum over k of p[k * 32 + r] * x[j][k], accumulated one
     * term at a time in increasing k. Lanes hold rows, so no product needs a horizontal sum, and a
     * product's bits depend on nothing but its row and token: batches may be cut anywhere.
     */
    default void panel32(float[] p, float[] x, int x0, int xStride, int n, int nt, float[] out, int outOff, int tokStride) {
        float[] acc = new float[PANEL_ROWS];
        for (int j = 0; j < nt; j++) {
            java.util.Arrays.fill(acc, 0f);
            int xj = x0 + j * xStride;
            for (int k = 0; k < n; k++) {
                float xk = x[xj + k];
                int pk = k * PANEL_ROWS;
                for (int r = 0; r < PANEL_ROWS; r++) {
                    acc[r] += p[pk + r] * xk;
                }
            }
            System.arraycopy(acc, 0, out, outOff + j * tokStride, PANEL_ROWS);
        }
    }

    /** y[i] += a * x[i] for i in [0, n): the attention-value accumulation. */
    void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n);
}
