package dev.splitllm.engine.gguf;

import java.util.Arrays;

/**
 * A tensor's entry in a GGUF header. {@code shape[0]} is the innermost (contiguous) dimension,
 * so a [out x in] weight matrix has shape {in, out}.
 *
 * @param name   tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param shape  dimensions, innermost first (1 to 4 of them, each positive)
 * @param type   storage type
 * @param offset byte offset of the data relative to the start of the data section
 */
public record GgufTensorInfo(String name, long[] shape, GgmlType type, long offset) {

    /** Number of elements (the caller has checked it does not overflow). */
    public long elements() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Bytes of data. */
    public long byteSize() {
        return elements() / type.blockSize * type.blockBytes;
    }

    /** Columns of the matrix view: the innermost dimension. */
    public long cols() {
        return shape[0];
    }

    /** Rows of the matrix view: all outer dimensions together. */
    public long rows() {
        return elements() / shape[0];
    }

    @Override
    public String toString() {
        return name + " " + type + Arrays.toString(shape) + " @" + offset;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo && ((GgufTensorInfo) o).name.equals(name)
                && Arrays.equals(((GgufTensorInfo) o).shape, shape) && ((GgufTensorInfo) o).type == type
                && ((GgufTensorInfo) o).offset == offset;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }
}
