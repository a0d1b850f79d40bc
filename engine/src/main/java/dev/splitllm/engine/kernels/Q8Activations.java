package dev.splitllm.engine.kernels;

/**
 * Activation rows quantized to 8 bits in blocks of 32, once per matmul, for the integer dot
 * products of {@link Kernels} (llama.cpp's {@code quantize_row_q8_0}, with float scales): for
 * every block, d = max|x| / 127 and q = round(x / d), so x ~ q * d. A weight row is then
 * multiplied by the codes in integers and scaled once per block. Buffers grow on demand and are
 * reused; one instance per forward state (not thread-safe).
 */
public final class Q8Activations {
    /** Codes: element i of row t at q[t * cols + i]. */
    public byte[] q = new byte[0];
    /** Scales: block b of row t at d[t * cols / 32 + b]. */
    public float[] d = new float[0];
    private int rows;
    private int cols;

    /** Number of rows held by the last {@link #quantize}. */
    public int rows() {
        return rows;
    }

    /** Row width of the last {@link #quantize}. */
    public int cols() {
        return cols;
    }

    /** Quantizes rows x[t * cols .. (t + 1) * cols) for t in [0, T); cols a multiple of 32. */
    public Q8Activations quantize(float[] x, int T, int cols) {
        if (cols % 32 != 0) {
            throw new IllegalArgumentException("Q8 activations need a multiple of 32 columns, got " + cols);
        }
        int n = T * cols;
        if (q.length < n) {
            q = new byte[n];
            d = new float[n / 32];
        }
        quantizeRow(x, 0, n, q, 0, d, 0);
        this.rows = T;
        this.cols = cols;
        return this;
    }

    /** Quantizes n floats (a multiple of 32) of x at xOff into q[qOff ..] and d[dOff ..]. */
    public static void quantizeRow(float[] x, int xOff, int n, byte[] q, int qOff, float[] d, int dOff) {
        for (int b = 0; b < n; b += 32) {
            int xb = xOff + b;
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[xb + j]));
            }
            float scale = amax / 127f;
            float inv = amax == 0 ? 0f : 127f / amax;
            d[dOff + b / 32] = scale;
            int qb = qOff + b;
            for (int j = 0; j < 32; j++) {
                q[qb + j] = (byte) Math.round(x[xb + j] * inv);
            }
        }
    }

    /** x as the kernels see it: q * d (tests and reference maths). */
    public static float[] dequantize(byte[] q, float[] d, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = q[i] * d[i / 32];
        }
        return out;
    }
}
