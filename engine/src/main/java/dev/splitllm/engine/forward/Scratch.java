package dev.splitllm.engine.forward;

import dev.splitllm.engine.kernels.Q8Activations;
import dev.splitllm.engine.model.LlamaConfig;

/** Per-state work buffers for a forward over T tokens, grown on demand and then reused. */
final class Scratch {
    int tokens;
    float[] xb, q, k, v, att, hb, hb2, cos, sin;
    /** The matmul input quantized to 8 bits (grown on demand by the quantized matmuls). */
    final Q8Activations q8 = new Q8Activations();

    void ensure(LlamaConfig c, int t) {
        if (t <= tokens) {
            return;
        }
        int d = c.dim(), kv = c.kvDim(), h = c.hiddenDim(), half = c.headSize() / 2;
        xb = new float[t * d];
        q = new float[t * d];
        k = new float[t * kv];
        v = new float[t * kv];
        att = new float[t * d];
        hb = new float[t * h];
        hb2 = new float[t * h];
        cos = new float[t * half];
        sin = new float[t * half];
        tokens = t;
    }

    long bytes() {
        long n = 0;
        for (float[] a : new float[][] {xb, q, k, v, att, hb, hb2, cos, sin}) {
            if (a != null) n += 4L * a.length;
        }
        n += q8.q.length + 4L * q8.d.length;
        return n;
    }
}
