package dev.splitllm.engine.gguf;

import dev.splitllm.engine.ModelFormatException;
import dev.splitllm.engine.model.RopePermutation;
import dev.splitllm.engine.tensor.BF16Matrix;
import dev.splitllm.engine.tensor.F16Matrix;
import dev.splitllm.engine.tensor.F32Matrix;
import dev.splitllm.engine.tensor.Q4_0Matrix;
import dev.splitllm.engine.tensor.Q4_KMatrix;
import dev.splitllm.engine.tensor.Q5_KMatrix;
import dev.splitllm.engine.tensor.Q6_KMatrix;
import dev.splitllm.engine.tensor.Q8_0Matrix;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.Half;
import dev.splitllm.quantization.weights.WeightQuantizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Turns GGUF tensors into engine weights. F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K and Q6_K
 * blocks are copied as they are (same layout, so a model is resident at its file's size);
 * every other type is rejected naming the tensor. Shapes are checked against what the model
 * expects before any data is read.
 */
public final class GgufTensorLoader {
    private final GgufFile file;

    public GgufTensorLoader(GgufFile file) {
        this.file = file;
    }

    /** Checks that {@code t} is a rows x cols matrix (GGUF shape {cols, rows}). */
    public void checkShape(GgufTensorInfo t, long rows, long cols) throws ModelFormatException {
        long[] s = t.shape();
        boolean ok = (s.length == 2 && s[0] == cols && s[1] == rows) || (rows == 1 && s.length == 1 && s[0] == cols);
        if (!ok) {
            throw new ModelFormatException(file.path() + ": tensor '" + t.name() + "' has shape " + Arrays.toString(s)
                    + ", expected [" + cols + (rows == 1 ? "" : ", " + rows) + "]");
        }
    }

    private static final String SUPPORTED = "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K";

    /** A required matrix of rows x cols. */
    public WeightMatrix matrix(String name, int rows, int cols) throws IOException {
        return matrix(name, rows, cols, 0);
    }

    /**
     * A required matrix of rows x cols; when {@code ropeHeads > 0}, its rows are reordered from
     * the rotate-half (NeoX) RoPE convention to the consecutive-pair one, per head of
     * rows / ropeHeads rows (see {@link RopePermutation}).
     */
    public WeightMatrix matrix(String name, int rows, int cols, int ropeHeads) throws IOException {
        GgufTensorInfo t = file.requireTensor(name);
        checkShape(t, rows, cols);
        if ((long) rows * cols > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(file.path() + ": tensor '" + name + "' (" + rows + " x " + cols
                    + ") has too many elements for one Java array");
        }
        GgmlType type = t.type();
        ByteBuffer data = file.tensorData(t);
        if (ropeHeads > 0) {
            data = RopePermutation.permuteRows(data, rows, (int) (t.byteSize() / rows), ropeHeads);
        }
        switch (type) {
            case F32: {
                float[] a = new float[rows * cols];
                data.asFloatBuffer().get(a);
                return new F32Matrix(a, rows, cols);
            }
            case F16: case BF16: {
                short[] a = new short[rows * cols];
                data.asShortBuffer().get(a);
                return type == GgmlType.F16 ? new F16Matrix(a, rows, cols) : new BF16Matrix(a, rows, cols);
            }
            case Q8_0: case Q4_0: case Q4_K: case Q5_K: case Q6_K: {
                // Block formats stay as the file stores them: resident at the file's size.
                byte[] a = new byte[(int) t.byteSize()];
                data.get(a);
                switch (type) {
                    case Q8_0: return new Q8_0Matrix(a, rows, cols);
                    case Q4_0: return new Q4_0Matrix(a, rows, cols);
                    case Q4_K: return new Q4_KMatrix(a, rows, cols);
                    case Q5_K: return new Q5_KMatrix(a, rows, cols);
                    default: return new Q6_KMatrix(a, rows, cols);
                }
            }
            default:
                throw new ModelFormatException(file.path() + ": tensor '" + name + "' has type " + type
                        + ", which is not supported (supported: " + SUPPORTED + ")");
        }
    }

    /** A required vector of n floats (norm weights, biases), from any supported type. */
    public float[] vector(String name, int n) throws IOException {
        return vector(name, n, 0);
    }

    /** A vector of n floats, optionally reordered like {@link #matrix(String, int, int, int)} rows. */
    public float[] vector(String name, int n, int ropeHeads) throws IOException {
        GgufTensorInfo t = file.requireTensor(name);
        checkShape(t, 1, n);
        float[] v = dequantize(t, file.tensorData(t));
        if (ropeHeads > 0) {
            v = RopePermutation.permute(v, ropeHeads);
        }
        return v;
    }

    /** Every element of {@code t} as floats (bounded by one Java array). */
    public float[] dequantize(GgufTensorInfo t, ByteBuffer data) throws ModelFormatException {
        long n = t.elements();
        if (n > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(file.path() + ": tensor '" + t.name() + "' has too many elements for one array");
        }
        float[] out = new float[(int) n];
        switch (t.type()) {
            case F32: data.asFloatBuffer().get(out); break;
            case F16: for (int i = 0; i < n; i++) out[i] = Half.toFloat(data.getShort(2 * i)); break;
            case BF16: for (int i = 0; i < n; i++) out[i] = Half.bf16ToFloat(data.getShort(2 * i)); break;
            case Q8_0:
                for (int b = 0, p = 0; b < n; b += 32, p += 34) {
                    float d = Half.toFloat(data.getShort(p));
                    for (int j = 0; j < 32; j++) out[b + j] = data.get(p + 2 + j) * d;
                }
                break;
            case Q4_0:
                for (int b = 0, p = 0; b < n; b += 32, p += 18) {
                    float d = Half.toFloat(data.getShort(p));
                    for (int j = 0; j < 16; j++) {
                        int q = data.get(p + 2 + j) & 0xff;
                        out[b + j] = ((q & 0x0f) - 8) * d;
                        out[b + j + 16] = ((q >> 4) - 8) * d;
                    }
                }
                break;
            case Q4_K: case Q5_K: case Q6_K: {
                byte[] raw = new byte[(int) t.byteSize()];
                data.duplicate().get(raw); // relative bulk get: Android-safe
                WeightQuantizer.dequantizeRow(t.type().directFormat(), raw, 0, (int) n, out, 0);
                break;
            }
            default:
                throw new ModelFormatException(file.path() + ": tensor '" + t.name() + "' has type " + t.type()
                        + ", which is not supported (supported: " + SUPPORTED + ")");
        }
        return out;
    }
}
