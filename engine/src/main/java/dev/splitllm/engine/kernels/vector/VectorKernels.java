package dev.splitllm.engine.kernels.vector;

import dev.splitllm.engine.kernels.Fp16Scales;
import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.quantization.Half;
import dev.splitllm.quantization.weights.KQuantizer;
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
    // Species of the fp16/bf16 kernels and the 256-bit (AVX2) quantized kernels: 8 floats, 8 bytes, 8 shorts, 8 ints.
    private static final VectorSpecies<Float> F256 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B64 = ByteVector.SPECIES_64;
    private static final VectorSpecies<Short> S128 = ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> I256 = IntVector.SPECIES_256;
    // 512-bit variants, used when the preferred species is at least 512 bits (AVX-512).
    private static final VectorSpecies<Float> F512 = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Integer> I512 = IntVector.SPECIES_512;
    // Integer kernels: 16 or 32 bytes widen to shorts; products of two codes fit a short.
    private static final VectorSpecies<Byte> B256 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Short> S256 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Short> S512 = ShortVector.SPECIES_512;

    /** True when the quantized kernels use 512-bit vectors. */
    private final boolean wide;

    /** Kernels at the platform's preferred width. */
    public VectorKernels() {
        this(F.vectorBitSize() >= 512 ? 512 : 256);
    }

    /**
     * Kernels whose quantized paths use {@code quantBits}-bit vectors (256 or 512; 512 only where
     * the preferred species is that wide). Tests use it to cover both paths on one machine.
     */
    public VectorKernels(int quantBits) {
        if (LANES < 4) {
            throw new UnsupportedOperationException("preferred float vector has only " + LANES + " lanes");
        }
        if (quantBits != 256 && quantBits != 512) {
            throw new IllegalArgumentException("quantized kernel width must be 256 or 512 bits, got " + quantBits);
        }
        this.wide = quantBits == 512;
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
        return wide ? dotQ8_0x512(w, wOff, x, xOff, n) : dotQ8_0x256(w, wOff, x, xOff, n);
    }

    @Override
    public float dotQ4_0(byte[] w, int wOff, float[] x, int xOff, int n) {
        return wide ? dotQ4_0x512(w, wOff, x, xOff, n) : dotQ4_0x256(w, wOff, x, xOff, n);
    }

    @Override
    public void dot2Q4_0(byte[] w, int a, int b, float[] x, int xOff, int n, float[] out, int outOff) {
        if (!wide) {
            out[outOff] = dotQ4_0x256(w, a, x, xOff, n);
            out[outOff + 1] = dotQ4_0x256(w, b, x, xOff, n);
            return;
        }
        FloatVector ta = FloatVector.zero(F512), tb = ta, sa = ta, sb = ta;
        for (int block = 0; block < n; block += 32, a += 18, b += 18) {
            float da = Fp16Scales.at(w, a), db = Fp16Scales.at(w, b);
            int xb = xOff + block;
            FloatVector x0 = FloatVector.fromArray(F512, x, xb), x1 = FloatVector.fromArray(F512, x, xb + 16);
            FloatVector xs = x0.add(x1);
            IntVector p = (IntVector) ByteVector.fromArray(B128, w, a + 2).convertShape(VectorOperators.B2I, I512, 0);
            IntVector q = (IntVector) ByteVector.fromArray(B128, w, b + 2).convertShape(VectorOperators.B2I, I512, 0);
            FloatVector dva = FloatVector.broadcast(F512, da), dvb = FloatVector.broadcast(F512, db);
            ta = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(x1,
                    ((FloatVector) p.and(0x0f).convert(VectorOperators.I2F, 0)).mul(x0)).fma(dva, ta);
            tb = ((FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(x1,
                    ((FloatVector) q.and(0x0f).convert(VectorOperators.I2F, 0)).mul(x0)).fma(dvb, tb);
            sa = xs.fma(dva, sa);
            sb = xs.fma(dvb, sb);
        }
        out[outOff] = ta.sub(sa.mul(8f)).reduceLanes(VectorOperators.ADD);
        out[outOff + 1] = tb.sub(sb.mul(8f)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void dot4Q4_0(byte[] w, int a, int b, int c, int e, float[] x, int xOff, int n, float[] out, int outOff) {
        if (!wide) {
            dot2Q4_0(w, a, b, x, xOff, n, out, outOff);
            dot2Q4_0(w, c, e, x, xOff, n, out, outOff + 2);
            return;
        }
        FloatVector ta = FloatVector.zero(F512), tb = ta, tc = ta, te = ta, xs = ta;
        FloatVector sa = ta, sb = ta, sc = ta, se = ta;
        for (int block = 0; block < n; block += 32, a += 18, b += 18, c += 18, e += 18) {
            int xb = xOff + block;
            FloatVector x0 = FloatVector.fromArray(F512, x, xb), x1 = FloatVector.fromArray(F512, x, xb + 16);
            FloatVector xsum = x0.add(x1);
            FloatVector dv = FloatVector.broadcast(F512, Fp16Scales.at(w, a));
            IntVector p = (IntVector) ByteVector.fromArray(B128, w, a + 2).convertShape(VectorOperators.B2I, I512, 0);
            ta = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(x1,
                    ((FloatVector) p.and(0x0f).convert(VectorOperators.I2F, 0)).mul(x0)).fma(dv, ta);
            sa = xsum.fma(dv, sa);
            dv = FloatVector.broadcast(F512, Fp16Scales.at(w, b));
            p = (IntVector) ByteVector.fromArray(B128, w, b + 2).convertShape(VectorOperators.B2I, I512, 0);
            tb = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(x1,
                    ((FloatVector) p.and(0x0f).convert(VectorOperators.I2F, 0)).mul(x0)).fma(dv, tb);
            sb = xsum.fma(dv, sb);
            dv = FloatVector.broadcast(F512, Fp16Scales.at(w, c));
            p = (IntVector) ByteVector.fromArray(B128, w, c + 2).convertShape(VectorOperators.B2I, I512, 0);
            tc = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(x1,
                    ((FloatVector) p.and(0x0f).convert(VectorOperators.I2F, 0)).mul(x0)).fma(dv, tc);
            sc = xsum.fma(dv, sc);
            dv = FloatVector.broadcast(F512, Fp16Scales.at(w, e));
            p = (IntVector) ByteVector.fromArray(B128, w, e + 2).convertShape(VectorOperators.B2I, I512, 0);
            te = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(x1,
                    ((FloatVector) p.and(0x0f).convert(VectorOperators.I2F, 0)).mul(x0)).fma(dv, te);
            se = xsum.fma(dv, se);
        }
        out[outOff] = ta.sub(sa.mul(8f)).reduceLanes(VectorOperators.ADD);
        out[outOff + 1] = tb.sub(sb.mul(8f)).reduceLanes(VectorOperators.ADD);
        out[outOff + 2] = tc.sub(sc.mul(8f)).reduceLanes(VectorOperators.ADD);
        out[outOff + 3] = te.sub(se.mul(8f)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void dot4Q8_0(byte[] w, int a, int b, int c, int e, float[] x, int xOff, int n, float[] out, int outOff) {
        if (!wide) {
            out[outOff] = dotQ8_0x256(w, a, x, xOff, n);
            out[outOff + 1] = dotQ8_0x256(w, b, x, xOff, n);
            out[outOff + 2] = dotQ8_0x256(w, c, x, xOff, n);
            out[outOff + 3] = dotQ8_0x256(w, e, x, xOff, n);
            return;
        }
        FloatVector ta = FloatVector.zero(F512), tb = ta, tc = ta, te = ta;
        for (int block = 0; block < n; block += 32, a += 34, b += 34, c += 34, e += 34) {
            int xb = xOff + block;
            FloatVector x0 = FloatVector.fromArray(F512, x, xb), x1 = FloatVector.fromArray(F512, x, xb + 16);
            FloatVector c0 = (FloatVector) ByteVector.fromArray(B128, w, a + 2).convertShape(VectorOperators.B2F, F512, 0);
            FloatVector c1 = (FloatVector) ByteVector.fromArray(B128, w, a + 18).convertShape(VectorOperators.B2F, F512, 0);
            ta = c1.fma(x1, c0.mul(x0)).fma(FloatVector.broadcast(F512, Fp16Scales.at(w, a)), ta);
            c0 = (FloatVector) ByteVector.fromArray(B128, w, b + 2).convertShape(VectorOperators.B2F, F512, 0);
            c1 = (FloatVector) ByteVector.fromArray(B128, w, b + 18).convertShape(VectorOperators.B2F, F512, 0);
            tb = c1.fma(x1, c0.mul(x0)).fma(FloatVector.broadcast(F512, Fp16Scales.at(w, b)), tb);
            c0 = (FloatVector) ByteVector.fromArray(B128, w, c + 2).convertShape(VectorOperators.B2F, F512, 0);
            c1 = (FloatVector) ByteVector.fromArray(B128, w, c + 18).convertShape(VectorOperators.B2F, F512, 0);
            tc = c1.fma(x1, c0.mul(x0)).fma(FloatVector.broadcast(F512, Fp16Scales.at(w, c)), tc);
            c0 = (FloatVector) ByteVector.fromArray(B128, w, e + 2).convertShape(VectorOperators.B2F, F512, 0);
            c1 = (FloatVector) ByteVector.fromArray(B128, w, e + 18).convertShape(VectorOperators.B2F, F512, 0);
            te = c1.fma(x1, c0.mul(x0)).fma(FloatVector.broadcast(F512, Fp16Scales.at(w, e)), te);
        }
        out[outOff] = ta.reduceLanes(VectorOperators.ADD);
        out[outOff + 1] = tb.reduceLanes(VectorOperators.ADD);
        out[outOff + 2] = tc.reduceLanes(VectorOperators.ADD);
        out[outOff + 3] = te.reduceLanes(VectorOperators.ADD);
    }

    // The quantized kernels: each block's partial dot product is formed in registers, then
    // scaled once (fp16 scale by table lookup, read first, before any vector of the block is
    // live) into the running total. One block per iteration and no helper shared between
    // vector shapes: a larger body (two blocks per iteration plus a tail) hit C2's
    // NodeCountInliningCutoff inside the full model, left the scale lookup un-inlined and
    // boxed the accumulators around that call, running Q4_0 at half speed.

    /** 512-bit Q8_0: 16 codes widen straight to 16 floats, two vectors per block. */
    private static float dotQ8_0x512(byte[] w, int wOff, float[] x, int xOff, int n) {
        FloatVector total = FloatVector.zero(F512);
        for (int block = 0; block < n; block += 32, wOff += 34) {
            float d = Fp16Scales.at(w, wOff);
            int xb = xOff + block;
            FloatVector c0 = (FloatVector) ByteVector.fromArray(B128, w, wOff + 2).convertShape(VectorOperators.B2F, F512, 0);
            FloatVector c1 = (FloatVector) ByteVector.fromArray(B128, w, wOff + 18).convertShape(VectorOperators.B2F, F512, 0);
            FloatVector s = c1.fma(FloatVector.fromArray(F512, x, xb + 16), c0.mul(FloatVector.fromArray(F512, x, xb)));
            total = s.fma(FloatVector.broadcast(F512, d), total);
        }
        return total.reduceLanes(VectorOperators.ADD);
    }

    /**
     * 512-bit Q4_0: 16 packed bytes widen to 16 ints; low nibbles are elements 0..15, high nibbles
     * 16..31. The -8 offset is folded out: sum d (q - 8) x = sum d q x - 8 sum d x, with the x
     * sums in their own accumulator, which saves two integer subtractions per block.
     */
    private static float dotQ4_0x512(byte[] w, int wOff, float[] x, int xOff, int n) {
        FloatVector total = FloatVector.zero(F512), xsum = FloatVector.zero(F512);
        for (int block = 0; block < n; block += 32, wOff += 18) {
            float d = Fp16Scales.at(w, wOff);
            int xb = xOff + block;
            IntVector p = (IntVector) ByteVector.fromArray(B128, w, wOff + 2).convertShape(VectorOperators.B2I, I512, 0);
            FloatVector lo = (FloatVector) p.and(0x0f).convert(VectorOperators.I2F, 0);
            FloatVector hi = (FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0);
            FloatVector x0 = FloatVector.fromArray(F512, x, xb), x1 = FloatVector.fromArray(F512, x, xb + 16);
            FloatVector dv = FloatVector.broadcast(F512, d);
            total = hi.fma(x1, lo.mul(x0)).fma(dv, total);
            xsum = x0.add(x1).fma(dv, xsum);
        }
        return total.sub(xsum.mul(8f)).reduceLanes(VectorOperators.ADD);
    }

    /** 256-bit Q8_0 (AVX2): 8 codes widen to 8 floats, four vectors per block in two chains. */
    private static float dotQ8_0x256(byte[] w, int wOff, float[] x, int xOff, int n) {
        FloatVector total = FloatVector.zero(F256);
        for (int block = 0; block < n; block += 32, wOff += 34) {
            float d = Fp16Scales.at(w, wOff);
            int q = wOff + 2;
            int xb = xOff + block;
            FloatVector s = q8x8(w, q).mul(FloatVector.fromArray(F256, x, xb));
            FloatVector t = q8x8(w, q + 8).mul(FloatVector.fromArray(F256, x, xb + 8));
            s = q8x8(w, q + 16).fma(FloatVector.fromArray(F256, x, xb + 16), s);
            t = q8x8(w, q + 24).fma(FloatVector.fromArray(F256, x, xb + 24), t);
            total = s.add(t).fma(FloatVector.broadcast(F256, d), total);
        }
        return total.reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector q8x8(byte[] w, int off) {
        return (FloatVector) ByteVector.fromArray(B64, w, off).convertShape(VectorOperators.B2F, F256, 0);
    }

    /** 256-bit Q4_0 (AVX2): 8 packed bytes widen to 8 ints; the -8 offset is folded out as in the 512-bit kernel. */
    private static float dotQ4_0x256(byte[] w, int wOff, float[] x, int xOff, int n) {
        FloatVector total = FloatVector.zero(F256), xsum = FloatVector.zero(F256);
        for (int block = 0; block < n; block += 32, wOff += 18) {
            float d = Fp16Scales.at(w, wOff);
            int xb = xOff + block;
            IntVector p0 = (IntVector) ByteVector.fromArray(B64, w, wOff + 2).convertShape(VectorOperators.B2I, I256, 0);
            IntVector p1 = (IntVector) ByteVector.fromArray(B64, w, wOff + 10).convertShape(VectorOperators.B2I, I256, 0);
            FloatVector x0 = FloatVector.fromArray(F256, x, xb), x1 = FloatVector.fromArray(F256, x, xb + 8);
            FloatVector x2 = FloatVector.fromArray(F256, x, xb + 16), x3 = FloatVector.fromArray(F256, x, xb + 24);
            FloatVector lo0 = (FloatVector) p0.and(0x0f).convert(VectorOperators.I2F, 0);
            FloatVector hi0 = (FloatVector) p0.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0);
            FloatVector lo1 = (FloatVector) p1.and(0x0f).convert(VectorOperators.I2F, 0);
            FloatVector hi1 = (FloatVector) p1.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0);
            FloatVector s = hi0.fma(x2, lo0.mul(x0));
            FloatVector t = hi1.fma(x3, lo1.mul(x1));
            FloatVector dv = FloatVector.broadcast(F256, d);
            total = s.add(t).fma(dv, total);
            xsum = x0.add(x1).add(x2.add(x3)).fma(dv, xsum);
        }
        return total.sub(xsum.mul(8f)).reduceLanes(VectorOperators.ADD);
    }

    // ---- integer kernels against Q8 activations ------------------------------------------------
    // Weight codes and activation codes widen from bytes to shorts and multiply there (|product|
    // <= 127 * 127, and a sum of two such products still fits a short). Adjacent short pairs are
    // then summed into ints without a cross-lane shuffle (the pair read as one int: low half
    // sign-extended plus high half shifted down, which is what x86's pmaddwd does in one
    // instruction), converted to float and scaled once per block: dw * dx. One block per
    // iteration, for the same inlining reason as the float kernels above.

    /**
     * False unless {@code -Dsplitllm.q8activations=true}: on JDK 17 the Vector API has no
     * byte dot-product instruction (no pmaddubsw / vpdpbusd), and the widen-multiply-pair-sum
     * sequence measured slower than widening the weights straight to floats (docs/BENCHMARKS.md,
     * KernelBenchmark). The integer kernels stay correct and tested.
     */
    // K-quant kernels: 256-bit vectors on every x86 shape (a 512-bit machine runs them too). Per
    // sub-block, the code products and the activation sums are kept in vectors and scaled once
    // (d·sc and dmin·m from the block's 6-bit pairs), as in the scalar kernels.

    @Override
    public float dotQ4_K(byte[] w, int wOff, float[] x, int xOff, int n) {
        return wide ? dotQ4_Kx512(w, wOff, x, xOff, n) : dotQ4_Kx256(w, wOff, x, xOff, n);
    }

    /** 512-bit Q4_K: 16 packed bytes widen to 16 ints, low nibbles for one sub-block, high for the next. */
    private static float dotQ4_Kx512(byte[] w, int wOff, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F512);
        for (int b = 0; b < n; b += 256, wOff += 144) {
            float d = Fp16Scales.at(w, wOff), dmin = Fp16Scales.at(w, wOff + 2);
            int s = wOff + 4, q = wOff + 16;
            for (int j = 0; j < 8; j += 2, q += 32) {
                int xa = xOff + b + 32 * j, xb = xa + 32;
                IntVector p0 = (IntVector) ByteVector.fromArray(B128, w, q).convertShape(VectorOperators.B2I, I512, 0);
                IntVector p1 = (IntVector) ByteVector.fromArray(B128, w, q + 16).convertShape(VectorOperators.B2I, I512, 0);
                FloatVector a0 = FloatVector.fromArray(F512, x, xa), a1 = FloatVector.fromArray(F512, x, xa + 16);
                FloatVector b0 = FloatVector.fromArray(F512, x, xb), b1 = FloatVector.fromArray(F512, x, xb + 16);
                FloatVector ca = ((FloatVector) p1.and(0x0f).convert(VectorOperators.I2F, 0)).fma(a1,
                        ((FloatVector) p0.and(0x0f).convert(VectorOperators.I2F, 0)).mul(a0));
                FloatVector cb = ((FloatVector) p1.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(b1,
                        ((FloatVector) p0.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).mul(b0));
                acc = ca.fma(FloatVector.broadcast(F512, d * KQuantizer.scaleK4(w, s, j, false)), acc);
                acc = cb.fma(FloatVector.broadcast(F512, d * KQuantizer.scaleK4(w, s, j + 1, false)), acc);
                acc = a0.add(a1).fma(FloatVector.broadcast(F512, -dmin * KQuantizer.scaleK4(w, s, j, true)), acc);
                acc = b0.add(b1).fma(FloatVector.broadcast(F512, -dmin * KQuantizer.scaleK4(w, s, j + 1, true)), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void dot2Q4_K(byte[] w, int a, int b, float[] x, int xOff, int n, float[] out, int outOff) {
        if (!wide) {
            out[outOff] = dotQ4_Kx256(w, a, x, xOff, n);
            out[outOff + 1] = dotQ4_Kx256(w, b, x, xOff, n);
            return;
        }
        FloatVector accA = FloatVector.zero(F512), accB = accA;
        for (int blk = 0; blk < n; blk += 256, a += 144, b += 144) {
            float da = Fp16Scales.at(w, a), ma = Fp16Scales.at(w, a + 2), db = Fp16Scales.at(w, b), mb = Fp16Scales.at(w, b + 2);
            for (int j = 0; j < 8; j += 2) {
                int x0 = xOff + blk + 32 * j, q = 16 + 16 * j;
                FloatVector u0 = FloatVector.fromArray(F512, x, x0), u1 = FloatVector.fromArray(F512, x, x0 + 16);
                FloatVector v0 = FloatVector.fromArray(F512, x, x0 + 32), v1 = FloatVector.fromArray(F512, x, x0 + 48);
                FloatVector su = u0.add(u1), sv = v0.add(v1);
                IntVector p0 = (IntVector) ByteVector.fromArray(B128, w, a + q).convertShape(VectorOperators.B2I, I512, 0);
                IntVector p1 = (IntVector) ByteVector.fromArray(B128, w, a + q + 16).convertShape(VectorOperators.B2I, I512, 0);
                accA = ((FloatVector) p1.and(0x0f).convert(VectorOperators.I2F, 0)).fma(u1,
                        ((FloatVector) p0.and(0x0f).convert(VectorOperators.I2F, 0)).mul(u0))
                        .fma(FloatVector.broadcast(F512, da * KQuantizer.scaleK4(w, a + 4, j, false)), accA);
                accA = ((FloatVector) p1.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(v1,
                        ((FloatVector) p0.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).mul(v0))
                        .fma(FloatVector.broadcast(F512, da * KQuantizer.scaleK4(w, a + 4, j + 1, false)), accA);
                accA = su.fma(FloatVector.broadcast(F512, -ma * KQuantizer.scaleK4(w, a + 4, j, true)), accA);
                accA = sv.fma(FloatVector.broadcast(F512, -ma * KQuantizer.scaleK4(w, a + 4, j + 1, true)), accA);
                p0 = (IntVector) ByteVector.fromArray(B128, w, b + q).convertShape(VectorOperators.B2I, I512, 0);
                p1 = (IntVector) ByteVector.fromArray(B128, w, b + q + 16).convertShape(VectorOperators.B2I, I512, 0);
                accB = ((FloatVector) p1.and(0x0f).convert(VectorOperators.I2F, 0)).fma(u1,
                        ((FloatVector) p0.and(0x0f).convert(VectorOperators.I2F, 0)).mul(u0))
                        .fma(FloatVector.broadcast(F512, db * KQuantizer.scaleK4(w, b + 4, j, false)), accB);
                accB = ((FloatVector) p1.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(v1,
                        ((FloatVector) p0.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).mul(v0))
                        .fma(FloatVector.broadcast(F512, db * KQuantizer.scaleK4(w, b + 4, j + 1, false)), accB);
                accB = su.fma(FloatVector.broadcast(F512, -mb * KQuantizer.scaleK4(w, b + 4, j, true)), accB);
                accB = sv.fma(FloatVector.broadcast(F512, -mb * KQuantizer.scaleK4(w, b + 4, j + 1, true)), accB);
            }
        }
        out[outOff] = accA.reduceLanes(VectorOperators.ADD);
        out[outOff + 1] = accB.reduceLanes(VectorOperators.ADD);
    }

    private static float dotQ4_Kx256(byte[] w, int wOff, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F256);
        for (int b = 0; b < n; b += 256, wOff += 144) {
            float d = Fp16Scales.at(w, wOff), dmin = Fp16Scales.at(w, wOff + 2);
            int s = wOff + 4, q = wOff + 16;
            for (int j = 0; j < 8; j += 2, q += 32) {
                int xa = xOff + b + 32 * j, xb = xa + 32;
                FloatVector ca = FloatVector.zero(F256), cb = ca, sa = ca, sb = ca;
                for (int l = 0; l < 32; l += 8) {
                    IntVector p = (IntVector) ByteVector.fromArray(B64, w, q + l).convertShape(VectorOperators.B2I, I256, 0);
                    FloatVector va = FloatVector.fromArray(F256, x, xa + l), vb = FloatVector.fromArray(F256, x, xb + l);
                    ca = ((FloatVector) p.and(0x0f).convert(VectorOperators.I2F, 0)).fma(va, ca);
                    cb = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0x0f).convert(VectorOperators.I2F, 0)).fma(vb, cb);
                    sa = sa.add(va);
                    sb = sb.add(vb);
                }
                acc = ca.fma(FloatVector.broadcast(F256, d * KQuantizer.scaleK4(w, s, j, false)), acc);
                acc = cb.fma(FloatVector.broadcast(F256, d * KQuantizer.scaleK4(w, s, j + 1, false)), acc);
                acc = sa.fma(FloatVector.broadcast(F256, -dmin * KQuantizer.scaleK4(w, s, j, true)), acc);
                acc = sb.fma(FloatVector.broadcast(F256, -dmin * KQuantizer.scaleK4(w, s, j + 1, true)), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public float dotQ5_K(byte[] w, int wOff, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F256);
        for (int b = 0; b < n; b += 256, wOff += 176) {
            float d = Fp16Scales.at(w, wOff), dmin = Fp16Scales.at(w, wOff + 2);
            int s = wOff + 4, qh = wOff + 16, q = wOff + 48;
            for (int j = 0; j < 8; j += 2, q += 32) {
                int xa = xOff + b + 32 * j, xb = xa + 32;
                FloatVector ca = FloatVector.zero(F256), cb = ca, sa = ca, sb = ca;
                for (int l = 0; l < 32; l += 8) {
                    IntVector p = (IntVector) ByteVector.fromArray(B64, w, q + l).convertShape(VectorOperators.B2I, I256, 0);
                    IntVector h = ((IntVector) ByteVector.fromArray(B64, w, qh + l).convertShape(VectorOperators.B2I, I256, 0))
                            .lanewise(VectorOperators.ASHR, j);
                    IntVector lo = p.and(0x0f).or(h.and(1).lanewise(VectorOperators.LSHL, 4));
                    IntVector hi = p.lanewise(VectorOperators.ASHR, 4).and(0x0f).or(h.and(2).lanewise(VectorOperators.LSHL, 3));
                    FloatVector va = FloatVector.fromArray(F256, x, xa + l), vb = FloatVector.fromArray(F256, x, xb + l);
                    ca = ((FloatVector) lo.convert(VectorOperators.I2F, 0)).fma(va, ca);
                    cb = ((FloatVector) hi.convert(VectorOperators.I2F, 0)).fma(vb, cb);
                    sa = sa.add(va);
                    sb = sb.add(vb);
                }
                acc = ca.fma(FloatVector.broadcast(F256, d * KQuantizer.scaleK4(w, s, j, false)), acc);
                acc = cb.fma(FloatVector.broadcast(F256, d * KQuantizer.scaleK4(w, s, j + 1, false)), acc);
                acc = sa.fma(FloatVector.broadcast(F256, -dmin * KQuantizer.scaleK4(w, s, j, true)), acc);
                acc = sb.fma(FloatVector.broadcast(F256, -dmin * KQuantizer.scaleK4(w, s, j + 1, true)), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Q6_K: one quarter (32 codes) of a half-block at a time, so the loop body holds a single
     * code stream (four at once made C2 give up on intrinsics and box the vectors: 0.6 GMAC/s).
     */
    @Override
    public float dotQ6_K(byte[] w, int wOff, float[] x, int xOff, int n) {
        return wide ? dotQ6_Kx512(w, wOff, x, xOff, n) : dotQ6_Kx256(w, wOff, x, xOff, n);
    }

    /** 512-bit Q6_K: one vector is exactly one sub-block of 16 codes with its own scale. */
    private static float dotQ6_Kx512(byte[] w, int wOff, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F512);
        for (int b = 0; b < n; b += 256, wOff += 210) {
            float d = Fp16Scales.at(w, wOff + 208);
            for (int half = 0; half < 2; half++) {
                int qh = wOff + 128 + 32 * half, sc = wOff + 192 + 8 * half;
                for (int k = 0; k < 4; k++) {
                    int ql = wOff + 64 * half + 32 * (k & 1), loShift = 4 * (k >> 1), hShift = 2 * k;
                    int xb = xOff + b + 128 * half + 32 * k;
                    for (int is = 0; is < 2; is++) {
                        int l = 16 * is;
                        IntVector lo = ((IntVector) ByteVector.fromArray(B128, w, ql + l).convertShape(VectorOperators.B2I, I512, 0))
                                .lanewise(VectorOperators.ASHR, loShift).and(0x0f);
                        IntVector hi = ((IntVector) ByteVector.fromArray(B128, w, qh + l).convertShape(VectorOperators.B2I, I512, 0))
                                .lanewise(VectorOperators.ASHR, hShift).and(3).lanewise(VectorOperators.LSHL, 4);
                        FloatVector q = (FloatVector) lo.or(hi).sub(32).convert(VectorOperators.I2F, 0);
                        acc = q.mul(FloatVector.fromArray(F512, x, xb + l)).fma(FloatVector.broadcast(F512, d * w[sc + 2 * k + is]), acc);
                    }
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private static float dotQ6_Kx256(byte[] w, int wOff, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F256);
        for (int b = 0; b < n; b += 256, wOff += 210) {
            float d = Fp16Scales.at(w, wOff + 208);
            for (int half = 0; half < 2; half++) {
                int qh = wOff + 128 + 32 * half, sc = wOff + 192 + 8 * half;
                for (int k = 0; k < 4; k++) {
                    int ql = wOff + 64 * half + 32 * (k & 1), loShift = 4 * (k >> 1), hShift = 2 * k;
                    int xb = xOff + b + 128 * half + 32 * k;
                    for (int is = 0; is < 2; is++) {
                        FloatVector s = FloatVector.zero(F256);
                        for (int l = 16 * is; l < 16 * is + 16; l += 8) {
                            IntVector lo = ((IntVector) ByteVector.fromArray(B64, w, ql + l).convertShape(VectorOperators.B2I, I256, 0))
                                    .lanewise(VectorOperators.ASHR, loShift).and(0x0f);
                            IntVector hi = ((IntVector) ByteVector.fromArray(B64, w, qh + l).convertShape(VectorOperators.B2I, I256, 0))
                                    .lanewise(VectorOperators.ASHR, hShift).and(3).lanewise(VectorOperators.LSHL, 4);
                            s = ((FloatVector) lo.or(hi).sub(32).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F256, x, xb + l), s);
                        }
                        acc = s.fma(FloatVector.broadcast(F256, d * w[sc + 2 * k + is]), acc);
                    }
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public boolean prefersQ8Activations() {
        return "true".equals(System.getProperty("splitllm.q8activations"));
    }

    @Override
    public float dotQ8_0Q8(byte[] w, int wOff, byte[] q, int qOff, float[] d, int dOff, int n) {
        return wide ? dotQ8_0Q8x512(w, wOff, q, qOff, d, dOff, n) : dotQ8_0Q8x256(w, wOff, q, qOff, d, dOff, n);
    }

    private static float dotQ8_0Q8x512(byte[] w, int wOff, byte[] q, int qOff, float[] d, int dOff, int n) {
        FloatVector total = FloatVector.zero(F512);
        for (int block = 0; block < n; block += 32, wOff += 34) {
            float s = Fp16Scales.at(w, wOff) * d[dOff + (block >> 5)];
            ShortVector a = (ShortVector) ByteVector.fromArray(B256, w, wOff + 2).convertShape(VectorOperators.B2S, S512, 0);
            ShortVector b = (ShortVector) ByteVector.fromArray(B256, q, qOff + block).convertShape(VectorOperators.B2S, S512, 0);
            ShortVector pp = a.mul(b);
            IntVector pv = pp.reinterpretAsInts();
            IntVector i = pv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pv.lanewise(VectorOperators.ASHR, 16));
            total = ((FloatVector) i.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F512, s), total);
        }
        return total.reduceLanes(VectorOperators.ADD);
    }

    private static float dotQ8_0Q8x256(byte[] w, int wOff, byte[] q, int qOff, float[] d, int dOff, int n) {
        FloatVector total = FloatVector.zero(F256);
        for (int block = 0; block < n; block += 32, wOff += 34) {
            float s = Fp16Scales.at(w, wOff) * d[dOff + (block >> 5)];
            int x = qOff + block;
            ShortVector a0 = (ShortVector) ByteVector.fromArray(B128, w, wOff + 2).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector a1 = (ShortVector) ByteVector.fromArray(B128, w, wOff + 18).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector b0 = (ShortVector) ByteVector.fromArray(B128, q, x).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector b1 = (ShortVector) ByteVector.fromArray(B128, q, x + 16).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector pp = a0.mul(b0).add(a1.mul(b1));
            IntVector pv = pp.reinterpretAsInts();
            IntVector i = pv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pv.lanewise(VectorOperators.ASHR, 16));
            total = ((FloatVector) i.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F256, s), total);
        }
        return total.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Q4_0 against Q8 (both widths): the 16 packed bytes give the low nibbles (elements 0..15)
     * and the high nibbles (16..31), each less 8 in bytes, then widen to 16 shorts.
     */
    @Override
    public float dotQ4_0Q8(byte[] w, int wOff, byte[] q, int qOff, float[] d, int dOff, int n) {
        FloatVector total = FloatVector.zero(F256);
        for (int block = 0; block < n; block += 32, wOff += 18) {
            float s = Fp16Scales.at(w, wOff) * d[dOff + (block >> 5)];
            int x = qOff + block;
            ByteVector wb = ByteVector.fromArray(B128, w, wOff + 2);
            ShortVector lo = (ShortVector) wb.and((byte) 0x0f).sub((byte) 8).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector hi = (ShortVector) wb.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector b0 = (ShortVector) ByteVector.fromArray(B128, q, x).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector b1 = (ShortVector) ByteVector.fromArray(B128, q, x + 16).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector pp = lo.mul(b0).add(hi.mul(b1));
            IntVector pv = pp.reinterpretAsInts();
            IntVector i = pv.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pv.lanewise(VectorOperators.ASHR, 16));
            total = ((FloatVector) i.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F256, s), total);
        }
        return total.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void dot2x2F32(float[] a, int a0, int aStride, float[] x, int x0, int xStride, int n, float[] out, int outOff,
                          int rowStride, int tokStride) {
        // dotF32's four accumulators per product, fed in its order (identical bits); each weight
        // and activation vector is loaded once for two products, half of dotF32's loads per FMA.
        FloatVector p0 = FloatVector.zero(F), p1 = p0, p2 = p0, p3 = p0; // row 0, token 0
        FloatVector q0 = p0, q1 = p0, q2 = p0, q3 = p0;                  // row 0, token 1
        FloatVector r0 = p0, r1 = p0, r2 = p0, r3 = p0;                  // row 1, token 0
        FloatVector s0 = p0, s1 = p0, s2 = p0, s3 = p0;                  // row 1, token 1
        int a1 = a0 + aStride, x1 = x0 + xStride;
        int i = 0;
        int upper = n - n % (4 * LANES);
        for (; i < upper; i += 4 * LANES) {
            FloatVector w = FloatVector.fromArray(F, a, a0 + i), u = FloatVector.fromArray(F, a, a1 + i);
            FloatVector v = FloatVector.fromArray(F, x, x0 + i), y = FloatVector.fromArray(F, x, x1 + i);
            p0 = w.fma(v, p0); q0 = w.fma(y, q0); r0 = u.fma(v, r0); s0 = u.fma(y, s0);
            w = FloatVector.fromArray(F, a, a0 + i + LANES); u = FloatVector.fromArray(F, a, a1 + i + LANES);
            v = FloatVector.fromArray(F, x, x0 + i + LANES); y = FloatVector.fromArray(F, x, x1 + i + LANES);
            p1 = w.fma(v, p1); q1 = w.fma(y, q1); r1 = u.fma(v, r1); s1 = u.fma(y, s1);
            w = FloatVector.fromArray(F, a, a0 + i + 2 * LANES); u = FloatVector.fromArray(F, a, a1 + i + 2 * LANES);
            v = FloatVector.fromArray(F, x, x0 + i + 2 * LANES); y = FloatVector.fromArray(F, x, x1 + i + 2 * LANES);
            p2 = w.fma(v, p2); q2 = w.fma(y, q2); r2 = u.fma(v, r2); s2 = u.fma(y, s2);
            w = FloatVector.fromArray(F, a, a0 + i + 3 * LANES); u = FloatVector.fromArray(F, a, a1 + i + 3 * LANES);
            v = FloatVector.fromArray(F, x, x0 + i + 3 * LANES); y = FloatVector.fromArray(F, x, x1 + i + 3 * LANES);
            p3 = w.fma(v, p3); q3 = w.fma(y, q3); r3 = u.fma(v, r3); s3 = u.fma(y, s3);
        }
        int upper1 = n - n % LANES;
        for (; i < upper1; i += LANES) {
            FloatVector w = FloatVector.fromArray(F, a, a0 + i), u = FloatVector.fromArray(F, a, a1 + i);
            FloatVector v = FloatVector.fromArray(F, x, x0 + i), y = FloatVector.fromArray(F, x, x1 + i);
            p0 = w.fma(v, p0); q0 = w.fma(y, q0); r0 = u.fma(v, r0); s0 = u.fma(y, s0);
        }
        float sp = p0.add(p1).add(p2.add(p3)).reduceLanes(VectorOperators.ADD);
        float sq = q0.add(q1).add(q2.add(q3)).reduceLanes(VectorOperators.ADD);
        float sr = r0.add(r1).add(r2.add(r3)).reduceLanes(VectorOperators.ADD);
        float ss = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float wa = a[a0 + i], ua = a[a1 + i], va = x[x0 + i], ya = x[x1 + i];
            sp += wa * va;
            sq += wa * ya;
            sr += ua * va;
            ss += ua * ya;
        }
        out[outOff] = sp;
        out[outOff + tokStride] = sq;
        out[outOff + rowStride] = sr;
        out[outOff + rowStride + tokStride] = ss;
    }

    @Override
    public void panel32(float[] p, float[] x, int x0, int xStride, int n, int nt, float[] out, int outOff, int tokStride) {
        if (LANES == 16 && nt == 4) {
            panel32x4(p, x, x0, xStride, n, out, outOff, tokStride);
            return;
        }
        if (PANEL_ROWS % (2 * LANES) != 0) { // vectors wider than 512 bits: the plain loop
            Kernels.super.panel32(p, x, x0, xStride, n, nt, out, outOff, tokStride);
            return;
        }
        // Other shapes (256-bit lanes, fewer tokens): one token at a time, each row in its lane, the
        // same one-term-at-a-time fused multiply-adds in increasing k as the 4-token tile.
        for (int j = 0; j < nt; j++) {
            int xj = x0 + j * xStride, o = outOff + j * tokStride;
            for (int r = 0; r < PANEL_ROWS; r += 2 * LANES) {
                FloatVector a0 = FloatVector.zero(F), a1 = a0;
                for (int k = 0; k < n; k++) {
                    FloatVector xv = FloatVector.broadcast(F, x[xj + k]);
                    a0 = FloatVector.fromArray(F, p, k * PANEL_ROWS + r).fma(xv, a0);
                    a1 = FloatVector.fromArray(F, p, k * PANEL_ROWS + r + LANES).fma(xv, a1);
                }
                a0.intoArray(out, o + r);
                a1.intoArray(out, o + r + LANES);
            }
        }
    }

    /** 512-bit: 32 rows (two vectors) x 4 tokens, eight independent accumulators. */
    private static void panel32x4(float[] p, float[] x, int x0, int xStride, int n, float[] out, int outOff, int tokStride) {
        FloatVector a0 = FloatVector.zero(F512), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        int x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        for (int k = 0; k < n; k++) {
            FloatVector w = FloatVector.fromArray(F512, p, k * 32), u = FloatVector.fromArray(F512, p, k * 32 + 16);
            FloatVector v = FloatVector.broadcast(F512, x[x0 + k]);
            a0 = w.fma(v, a0);
            b0 = u.fma(v, b0);
            v = FloatVector.broadcast(F512, x[x1 + k]);
            a1 = w.fma(v, a1);
            b1 = u.fma(v, b1);
            v = FloatVector.broadcast(F512, x[x2 + k]);
            a2 = w.fma(v, a2);
            b2 = u.fma(v, b2);
            v = FloatVector.broadcast(F512, x[x3 + k]);
            a3 = w.fma(v, a3);
            b3 = u.fma(v, b3);
        }
        a0.intoArray(out, outOff);
        b0.intoArray(out, outOff + 16);
        a1.intoArray(out, outOff + tokStride);
        b1.intoArray(out, outOff + tokStride + 16);
        a2.intoArray(out, outOff + 2 * tokStride);
        b2.intoArray(out, outOff + 2 * tokStride + 16);
        a3.intoArray(out, outOff + 3 * tokStride);
        b3.intoArray(out, outOff + 3 * tokStride + 16);
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
