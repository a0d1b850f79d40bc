package dev.splitllm.engine.kernels.vector;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.quantization.Half;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels ({@code jdk.incubator.vector}). Only ever loaded through
 * {@link dev.splitllm.engine.kernels.KernelProvider} after it has checked that the module
 * is present, so runtimes without it never resolve this class.
 */
public final class VectorKernels implements Kernels {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = F.length();
    // Species used by the quantized kernels: 8 floats, 8 bytes, 8 shorts, 8 ints.
    private static final VectorSpecies<Float> F256 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B64 = ByteVector.SPECIES_64;
    private static final VectorSpecies<Short> S128 = ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> I256 = IntVector.SPECIES_256;

    public VectorKernels() {
        if (LANES < 4) {
            throw new UnsupportedOperationException("preferred float vector has only " + LANES + " lanes");
        }
    }

    @Override
    public String name() {
        return "vector-" + F.vectorBitSize();
    }

    @Override
    public float dotF32(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        int upper = n - n % (4 * LANES);
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        for (; i < upper; i += 4 * LANES) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(F, a, aOff + i + LANES).fma(FloatVector.fromArray(F, b, bOff + i + LANES), acc1);
            acc2 = FloatVector.fromArray(F, a, aOff + i + 2 * LANES).fma(FloatVector.fromArray(F, b, bOff + i + 2 * LANES), acc2);
            acc3 = FloatVector.fromArray(F, a, aOff + i + 3 * LANES).fma(FloatVector.fromArray(F, b, bOff + i + 3 * LANES), acc3);
        }
        int upper1 = n - n % LANES;
        for (; i < upper1; i += LANES) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
        }
        float s = acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    @Override
    public float dotF16(short[] w, int wOff, float[] x, int xOff, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(F256);
        int upper = n - n % 8;
        for (; i < upper; i += 8) {
            IntVector h = (IntVector) ShortVector.fromArray(S128, w, wOff + i).convertShape(VectorOperators.S2I, I256, 0);
            IntVector expMant = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
            IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            // Same trick as Half.toFloat: exact for normals and subnormals (weights are finite).
            FloatVector mag = expMant.reinterpretAsFloats().mul(0x1p112f);
            FloatVector v = mag.reinterpretAsInts().or(sign).reinterpretAsFloats();
            acc = v.fma(FloatVector.fromArray(F256, x, xOff + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += Half.toFloat(w[wOff + i]) * x[xOff + i];
        }
        return s;
    }

    @Override
    public float dotBF16(short[] w, int wOff, float[] x, int xOff, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(F256);
        int upper = n - n % 8;
        for (; i < upper; i += 8) {
            IntVector h = (IntVector) ShortVector.fromArray(S128, w, wOff + i).convertShape(VectorOperators.S2I, I256, 0);
            FloatVector v = h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            acc = v.fma(FloatVector.fromArray(F256, x, xOff + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += Half.bf16ToFloat(w[wOff + i]) * x[xOff + i];
        }
        return s;
    }

    @Override
    public float dotQ8_0(byte[] w, int wOff, float[] x, int xOff, int n) {
        FloatVector total = FloatVector.zero(F256);
        for (int block = 0; block < n; block += 32, wOff += 34) {
            float scale = Half.toFloat((short) ((w[wOff] & 0xff) | (w[wOff + 1] << 8)));
            int q = wOff + 2;
            int xb = xOff + block;
            FloatVector s = ((FloatVector) ByteVector.fromArray(B64, w, q).convertShape(VectorOperators.B2F, F256, 0))
                    .mul(FloatVector.fromArray(F256, x, xb));
            s = ((FloatVector) ByteVector.fromArray(B64, w, q + 8).convertShape(VectorOperators.B2F, F256, 0))
                    .fma(FloatVector.fromArray(F256, x, xb + 8), s);
            s = ((FloatVector) ByteVector.fromArray(B64, w, q + 16).convertShape(VectorOperators.B2F, F256, 0))
                    .fma(FloatVector.fromArray(F256, x, xb + 16), s);
            s = ((FloatVector) ByteVector.fromArray(B64, w, q + 24).convertShape(VectorOperators.B2F, F256, 0))
                    .fma(FloatVector.fromArray(F256, x, xb + 24), s);
            total = s.fma(FloatVector.broadcast(F256, scale), total);
        }
        return total.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public float dotQ4_0(byte[] w, int wOff, float[] x, int xOff, int n) {
        FloatVector total = FloatVector.zero(F256);
        for (int block = 0; block < n; block += 32, wOff += 18) {
            float scale = Half.toFloat((short) ((w[wOff] & 0xff) | (w[wOff + 1] << 8)));
            int q = wOff + 2;
            int xb = xOff + block;
            ByteVector p0 = ByteVector.fromArray(B64, w, q);
            ByteVector p1 = ByteVector.fromArray(B64, w, q + 8);
            ByteVector lo0 = p0.and((byte) 0x0f).sub((byte) 8);
            ByteVector lo1 = p1.and((byte) 0x0f).sub((byte) 8);
            ByteVector hi0 = p0.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0f).sub((byte) 8);
            ByteVector hi1 = p1.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0f).sub((byte) 8);
            FloatVector s = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F256, 0)).mul(FloatVector.fromArray(F256, x, xb));
            s = ((FloatVector) lo1.convertShape(VectorOperators.B2F, F256, 0)).fma(FloatVector.fromArray(F256, x, xb + 8), s);
            s = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F256, 0)).fma(FloatVector.fromArray(F256, x, xb + 16), s);
            s = ((FloatVector) hi1.convertShape(VectorOperators.B2F, F256, 0)).fma(FloatVector.fromArray(F256, x, xb + 24), s);
            total = s.fma(FloatVector.broadcast(F256, scale), total);
        }
        return total.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        int upper = n - n % LANES;
        for (; i < upper; i += LANES) {
            FloatVector.fromArray(F, x, xOff + i).fma(FloatVector.broadcast(F, a), FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }
}
