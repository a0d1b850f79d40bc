package dev.splitllm.engine.gguf;

import java.util.Arrays;

/**
 * One GGUF metadata value. Scalars hold a boxed {@link Long} (every integer type, unsigned 64-bit
 * as its two's-complement bits), {@link Double} (float types), {@link Boolean} or {@link String};
 * arrays hold {@code long[]}, {@code double[]}, {@code boolean[]}, {@code String[]} or, for nested
 * arrays, {@code GgufValue[]}, with {@code elementType} naming the stored element type.
 *
 * @param type        the value's type
 * @param elementType for arrays, the element type; else null
 * @param value       the decoded value (see above)
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

    public static GgufValue ofString(String s) {
        return new GgufValue(GgufValueType.STRING, null, s);
    }

    public static GgufValue ofUInt32(long v) {
        return new GgufValue(GgufValueType.UINT32, null, v);
    }

    public static GgufValue ofFloat32(double v) {
        return new GgufValue(GgufValueType.FLOAT32, null, v);
    }

    public static GgufValue ofBool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, null, v);
    }

    public static GgufValue ofStrings(String[] v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, v);
    }

    public static GgufValue ofFloats(double[] v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT32, v);
    }

    /** An array of integers stored as {@code elementType} (e.g. INT32 token types). */
    public static GgufValue ofInts(GgufValueType elementType, long[] v) {
        return new GgufValue(GgufValueType.ARRAY, elementType, v);
    }

    /** Number of elements of an array value, 1 for a scalar. */
    public int length() {
        if (type != GgufValueType.ARRAY) return 1;
        if (value instanceof long[]) return ((long[]) value).length;
        if (value instanceof double[]) return ((double[]) value).length;
        if (value instanceof boolean[]) return ((boolean[]) value).length;
        return ((Object[]) value).length;
    }

    @Override
    public String toString() {
        if (type != GgufValueType.ARRAY) {
            return type + ":" + value;
        }
        return "ARRAY<" + elementType + ">[" + length() + "]";
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GgufValue)) return false;
        GgufValue g = (GgufValue) o;
        return type == g.type && elementType == g.elementType && Arrays.deepEquals(new Object[] {value}, new Object[] {g.value});
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(new Object[] {type, elementType, value});
    }
}
