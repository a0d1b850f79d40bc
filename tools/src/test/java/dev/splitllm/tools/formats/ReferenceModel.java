package dev.splitllm.tools.formats;

import dev.splitllm.tools.convert.SafetensorsWriter;
import dev.splitllm.engine.gguf.GgmlType;
import dev.splitllm.engine.gguf.GgufValue;
import dev.splitllm.engine.gguf.GgufWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A small random Llama/Qwen2-shaped model held as plain arrays, with an independent reference
 * forward (double precision, simple loops, no engine code) and writers that store the arrays
 * as they are in GGUF or Hugging Face form. {@code rotateHalf} says which RoPE convention the
 * q/k rows follow: true for Hugging Face and GGUF qwen2, false for GGUF llama.
 */
final class ReferenceModel {
    final int dim, hidden, layers, heads, kvHeads, vocab, hs;
    final float theta = 10000f, eps = 1e-5f;
    final boolean bias, tied, rotateHalf;
    final float[] emb, normF, lmHead;
    final float[][] attnNorm, ffnNorm, wq, wk, wv, wo, gate, down, up, bq, bk, bv;

    ReferenceModel(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, boolean bias, boolean tied,
                   boolean rotateHalf, long seed) {
        this.dim = dim; this.hidden = hidden; this.layers = layers; this.heads = heads; this.kvHeads = kvHeads;
        this.vocab = vocab; this.hs = dim / heads; this.bias = bias; this.tied = tied; this.rotateHalf = rotateHalf;
        Random r = new Random(seed);
        int kv = kvHeads * hs;
        emb = rnd(r, vocab * dim, 1.0);
        normF = norm(r, dim);
        lmHead = tied ? emb : rnd(r, vocab * dim, 1 / Math.sqrt(dim));
        attnNorm = new float[layers][]; ffnNorm = new float[layers][];
        wq = new float[layers][]; wk = new float[layers][]; wv = new float[layers][]; wo = new float[layers][];
        gate = new float[layers][]; down = new float[layers][]; up = new float[layers][];
        bq = new float[layers][]; bk = new float[layers][]; bv = new float[layers][];
        for (int l = 0; l < layers; l++) {
            attnNorm[l] = norm(r, dim); ffnNorm[l] = norm(r, dim);
            wq[l] = rnd(r, dim * dim, 1 / Math.sqrt(dim)); wk[l] = rnd(r, kv * dim, 1 / Math.sqrt(dim));
            wv[l] = rnd(r, kv * dim, 1 / Math.sqrt(dim)); wo[l] = rnd(r, dim * dim, 1 / Math.sqrt(dim));
            gate[l] = rnd(r, hidden * dim, 1 / Math.sqrt(dim)); up[l] = rnd(r, hidden * dim, 1 / Math.sqrt(dim));
            down[l] = rnd(r, dim * hidden, 1 / Math.sqrt(hidden));
            if (bias) { bq[l] = rnd(r, dim, 0.5); bk[l] = rnd(r, kv, 0.5); bv[l] = rnd(r, kv, 0.5); }
        }
    }

    private static float[] rnd(Random r, int n, double s) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * s);
        return a;
    }

    private static float[] norm(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (1 + 0.2 * r.nextGaussian());
        return a;
    }

    /** Logits after each token of {@code tokens} (tokens.length x vocab), computed from scratch. */
    double[][] forward(int[] tokens) {
        int T = tokens.length, kv = kvHeads * hs;
        double[][][] kc = new double[layers][T][], vc = new double[layers][T][];
        double[][] out = new double[T][];
        for (int t = 0; t < T; t++) {
            double[] x = new double[dim];
            for (int i = 0; i < dim; i++) x[i] = emb[tokens[t] * dim + i];
            for (int l = 0; l < layers; l++) {
                double[] xn = rms(x, attnNorm[l]);
                double[] q = mv(wq[l], xn, dim, dim), k = mv(wk[l], xn, kv, dim), v = mv(wv[l], xn, kv, dim);
                if (bias) {
                    for (int i = 0; i < dim; i++) q[i] += bq[l][i];
                    for (int i = 0; i < kv; i++) { k[i] += bk[l][i]; v[i] += bv[l][i]; }
                }
                rope(q, heads, t);
                rope(k, kvHeads, t);
                kc[l][t] = k;
                vc[l][t] = v;
                double[] att = new double[dim];
                for (int h = 0; h < heads; h++) {
                    int g = h / (heads / kvHeads);
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int p = 0; p <= t; p++) {
                        double dot = 0;
                        for (int i = 0; i < hs; i++) dot += q[h * hs + i] * kc[l][p][g * hs + i];
                        s[p] = dot / Math.sqrt(hs);
                        max = Math.max(max, s[p]);
                    }
                    double sum = 0;
                    for (int p = 0; p <= t; p++) { s[p] = Math.exp(s[p] - max); sum += s[p]; }
                    for (int p = 0; p <= t; p++) {
                        for (int i = 0; i < hs; i++) att[h * hs + i] += s[p] / sum * vc[l][p][g * hs + i];
                    }
                }
                double[] o = mv(wo[l], att, dim, dim);
                for (int i = 0; i < dim; i++) x[i] += o[i];
                xn = rms(x, ffnNorm[l]);
                double[] a = mv(gate[l], xn, hidden, dim), b = mv(up[l], xn, hidden, dim);
                for (int i = 0; i < hidden; i++) a[i] = a[i] / (1 + Math.exp(-a[i])) * b[i];
                double[] f = mv(down[l], a, dim, hidden);
                for (int i = 0; i < dim; i++) x[i] += f[i];
            }
            out[t] = mv(lmHead, rms(x, normF), vocab, dim);
        }
        return out;
    }

    private double[] rms(double[] x, float[] w) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double inv = 1 / Math.sqrt(ss / x.length + eps);
        double[] o = new double[x.length];
        for (int i = 0; i < x.length; i++) o[i] = x[i] * inv * w[i];
        return o;
    }

    private static double[] mv(float[] w, double[] x, int rows, int cols) {
        double[] o = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++) s += w[r * cols + c] * x[c];
            o[r] = s;
        }
        return o;
    }

    /** RoPE at position pos on each of n heads, in this model's convention. */
    private void rope(double[] v, int n, int pos) {
        for (int h = 0; h < n; h++) {
            for (int i = 0; i < hs / 2; i++) {
                double ang = pos * Math.pow(theta, -2.0 * i / hs);
                int a = rotateHalf ? h * hs + i : h * hs + 2 * i;
                int b = rotateHalf ? h * hs + i + hs / 2 : h * hs + 2 * i + 1;
                double x0 = v[a], x1 = v[b];
                v[a] = x0 * Math.cos(ang) - x1 * Math.sin(ang);
                v[b] = x1 * Math.cos(ang) + x0 * Math.sin(ang);
            }
        }
    }

    static byte[] f32(float[] a) {
        ByteBuffer b = ByteBuffer.allocate(4 * a.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(a);
        return b.array();
    }

    /** The weights as a GGUF file of {@code arch} (F32 tensors, stored exactly as held), plus {@code extra} metadata. */
    GgufWriter gguf(String arch) {
        int kv = kvHeads * hs;
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.ofString(arch));
        w.put(arch + ".embedding_length", GgufValue.ofUInt32(dim));
        w.put(arch + ".feed_forward_length", GgufValue.ofUInt32(hidden));
        w.put(arch + ".block_count", GgufValue.ofUInt32(layers));
        w.put(arch + ".attention.head_count", GgufValue.ofUInt32(heads));
        w.put(arch + ".attention.head_count_kv", GgufValue.ofUInt32(kvHeads));
        w.put(arch + ".context_length", GgufValue.ofUInt32(64));
        w.put(arch + ".rope.freq_base", GgufValue.ofFloat32(theta));
        w.put(arch + ".attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(eps));
        w.tensor("token_embd.weight", new long[] {dim, vocab}, GgmlType.F32, () -> f32(emb));
        w.tensor("output_norm.weight", new long[] {dim}, GgmlType.F32, () -> f32(normF));
        if (!tied) w.tensor("output.weight", new long[] {dim, vocab}, GgmlType.F32, () -> f32(lmHead));
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            int L = l;
            w.tensor(p + "attn_norm.weight", new long[] {dim}, GgmlType.F32, () -> f32(attnNorm[L]));
            w.tensor(p + "ffn_norm.weight", new long[] {dim}, GgmlType.F32, () -> f32(ffnNorm[L]));
            w.tensor(p + "attn_q.weight", new long[] {dim, dim}, GgmlType.F32, () -> f32(wq[L]));
            w.tensor(p + "attn_k.weight", new long[] {dim, kv}, GgmlType.F32, () -> f32(wk[L]));
            w.tensor(p + "attn_v.weight", new long[] {dim, kv}, GgmlType.F32, () -> f32(wv[L]));
            w.tensor(p + "attn_output.weight", new long[] {dim, dim}, GgmlType.F32, () -> f32(wo[L]));
            w.tensor(p + "ffn_gate.weight", new long[] {dim, hidden}, GgmlType.F32, () -> f32(gate[L]));
            w.tensor(p + "ffn_up.weight", new long[] {dim, hidden}, GgmlType.F32, () -> f32(up[L]));
            w.tensor(p + "ffn_down.weight", new long[] {hidden, dim}, GgmlType.F32, () -> f32(down[L]));
            if (bias) {
                w.tensor(p + "attn_q.bias", new long[] {dim}, GgmlType.F32, () -> f32(bq[L]));
                w.tensor(p + "attn_k.bias", new long[] {kv}, GgmlType.F32, () -> f32(bk[L]));
                w.tensor(p + "attn_v.bias", new long[] {kv}, GgmlType.F32, () -> f32(bv[L]));
            }
        }
        return w;
    }

    /** The weights as a Hugging Face directory ({@code modelType} llama or qwen2), split over {@code shards} files. */
    void writeHf(Path dir, String modelType, int shards) throws IOException {
        Files.createDirectories(dir);
        int kv = kvHeads * hs;
        String cfg = "{\"model_type\":\"" + modelType + "\",\"hidden_size\":" + dim + ",\"intermediate_size\":" + hidden
                + ",\"num_hidden_layers\":" + layers + ",\"num_attention_heads\":" + heads + ",\"num_key_value_heads\":" + kvHeads
                + ",\"vocab_size\":" + vocab + ",\"max_position_embeddings\":64,\"rope_theta\":" + theta + ",\"rms_norm_eps\":" + eps
                + ",\"tie_word_embeddings\":" + tied + ",\"attention_bias\":" + bias + ",\"hidden_act\":\"silu\"}";
        Files.writeString(dir.resolve("config.json"), cfg);
        SafetensorsWriter[] w = new SafetensorsWriter[shards];
        for (int i = 0; i < shards; i++) w[i] = new SafetensorsWriter();
        StringBuilder index = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
        int[] n = {0};
        java.util.function.BiConsumer<String, Object[]> add = (name, spec) -> {
            int s = n[0]++ % shards;
            float[] data = (float[]) spec[0];
            w[s].tensor(name, "F32", (long[]) spec[1], () -> f32(data));
            index.append(n[0] > 1 ? "," : "").append('"').append(name).append("\":\"model-0000").append(s + 1)
                    .append("-of-0000").append(shards).append(".safetensors\"");
        };
        add.accept("model.embed_tokens.weight", new Object[] {emb, new long[] {vocab, dim}});
        add.accept("model.norm.weight", new Object[] {normF, new long[] {dim}});
        if (!tied) add.accept("lm_head.weight", new Object[] {lmHead, new long[] {vocab, dim}});
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            add.accept(p + "input_layernorm.weight", new Object[] {attnNorm[l], new long[] {dim}});
            add.accept(p + "post_attention_layernorm.weight", new Object[] {ffnNorm[l], new long[] {dim}});
            add.accept(p + "self_attn.q_proj.weight", new Object[] {wq[l], new long[] {dim, dim}});
            add.accept(p + "self_attn.k_proj.weight", new Object[] {wk[l], new long[] {kv, dim}});
            add.accept(p + "self_attn.v_proj.weight", new Object[] {wv[l], new long[] {kv, dim}});
            add.accept(p + "self_attn.o_proj.weight", new Object[] {wo[l], new long[] {dim, dim}});
            add.accept(p + "mlp.gate_proj.weight", new Object[] {gate[l], new long[] {hidden, dim}});
            add.accept(p + "mlp.up_proj.weight", new Object[] {up[l], new long[] {hidden, dim}});
            add.accept(p + "mlp.down_proj.weight", new Object[] {down[l], new long[] {dim, hidden}});
            if (bias) {
                add.accept(p + "self_attn.q_proj.bias", new Object[] {bq[l], new long[] {dim}});
                add.accept(p + "self_attn.k_proj.bias", new Object[] {bk[l], new long[] {kv}});
                add.accept(p + "self_attn.v_proj.bias", new Object[] {bv[l], new long[] {kv}});
            }
        }
        if (shards == 1) {
            w[0].write(dir.resolve("model.safetensors"));
        } else {
            for (int s = 0; s < shards; s++) {
                w[s].write(dir.resolve("model-0000" + (s + 1) + "-of-0000" + shards + ".safetensors"));
            }
            Files.writeString(dir.resolve("model.safetensors.index.json"), index.append("}}").toString());
        }
    }
}
