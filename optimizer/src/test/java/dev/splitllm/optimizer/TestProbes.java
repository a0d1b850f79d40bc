package dev.splitllm.optimizer;

import dev.splitllm.optimizer.profile.CodecProbe;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reference codecs for tests (the real codec is bound by the lead): "f32" sends the floats
 * raw; "uN" (N in 1..16) quantizes each row min-max to N bits, with the row's min and step as
 * two floats of side information.
 */
final class TestProbes implements CodecProbe {
    @Override
    public String name() {
        return "test-probes";
    }

    @Override
    public void check(String spec) {
        bits(spec);
    }

    static int bits(String spec) {
        if (spec.equals("f32")) return 32;
        if (spec.matches("u([1-9]|1[0-6])")) return Integer.parseInt(spec.substring(1));
        throw new IllegalArgumentException("unknown test codec '" + spec + "'");
    }

    @Override
    public byte[] encode(String spec, float[] x, int tokens, int dim) {
        int b = bits(spec);
        if (b == 32) {
            ByteBuffer bb = ByteBuffer.allocate(4 * tokens * dim).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < tokens * dim; i++) bb.putFloat(x[i]);
            return bb.array();
        }
        int rowBytes = 8 + (dim * b + 7) / 8;
        ByteBuffer bb = ByteBuffer.allocate(tokens * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
        int levels = (1 << b) - 1;
        for (int t = 0; t < tokens; t++) {
            float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < dim; i++) {
                min = Math.min(min, x[t * dim + i]);
                max = Math.max(max, x[t * dim + i]);
            }
            float step = max > min ? (max - min) / levels : 1;
            bb.putFloat(min).putFloat(step);
            long acc = 0;
            int nacc = 0;
            for (int i = 0; i < dim; i++) {
                long q = Math.round((x[t * dim + i] - min) / step);
                acc |= Math.max(0, Math.min(levels, q)) << nacc;
                nacc += b;
                while (nacc >= 8) {
                    bb.put((byte) acc);
                    acc >>>= 8;
                    nacc -= 8;
                }
            }
            if (nacc > 0) bb.put((byte) acc);
        }
        return bb.array();
    }

    @Override
    public float[] decode(String spec, byte[] enc, int tokens, int dim) {
        int b = bits(spec);
        ByteBuffer bb = ByteBuffer.wrap(enc).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[tokens * dim];
        if (b == 32) {
            for (int i = 0; i < out.length; i++) out[i] = bb.getFloat();
            return out;
        }
        for (int t = 0; t < tokens; t++) {
            float min = bb.getFloat(), step = bb.getFloat();
            long acc = 0;
            int nacc = 0;
            for (int i = 0; i < dim; i++) {
                while (nacc < b) {
                    acc |= (bb.get() & 0xffL) << nacc;
                    nacc += 8;
                }
                long q = acc & ((1L << b) - 1);
                acc >>>= b;
                nacc -= b;
                out[t * dim + i] = min + q * step;
            }
            acc = 0;
            nacc = 0;
        }
        return out;
    }
}
