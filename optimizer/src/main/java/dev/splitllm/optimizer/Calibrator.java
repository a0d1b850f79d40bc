package dev.splitllm.optimizer;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.CodecProbe;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.optimizer.profile.WeightQuality;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a {@link CalibrationTable} by running the real model through the real codec (bound
 * through a {@link CodecProbe}) on calibration text, teacher-forced:
 *
 * <ul>
 *   <li>reference: the unsplit F32 model's next-token distribution at every position;</li>
 *   <li>for each split l and codec setting: the hidden state after block l is encoded and
 *       decoded row by row (one-token frames, as in decode steps: the decode bits per element
 *       are their mean), blocks [l, L) run on the decoded rows (so their KV cache is built from
 *       lossy states, as on the cloud), and the head gives the split model's distribution;
 *       prefill bits per element come from encoding blocks of up to {@link #PREFILL_CHUNK} rows;</li>
 *   <li>quality: top-1 agreement with the reference, mean KL(ref ‖ split) in nats, and the
 *       perplexity of the text's next tokens minus the reference perplexity;</li>
 *   <li>weight formats: the whole model converted to each format, same metrics.</li>
 * </ul>
 *
 * The probe's bytes are counted whole (headers included when it returns frames), so the
 * table's frameOverheadBytes is 0.
 */
public final class Calibrator {
    private Calibrator() {}

    public static final int PREFILL_CHUNK = 64;
    public static final int MAX_SPECS = 64;

    /**
     * Calibrates {@code checkpoint} on {@code tokens}.
     *
     * @param checkpoint    llama2.c model
     * @param tokens        calibration text as token ids (2..seq_len of them)
     * @param probe         the codec
     * @param specs         codec settings
     * @param splits        split layers to measure (empty = every l in [0, L))
     * @param weightFormats formats for the whole-model weight quality rows (F32 is the reference and is skipped)
     * @param threads       engine threads
     * @param text          a description of the text, stored in the table's source
     */
    public static CalibrationTable run(Path checkpoint, int[] tokens, CodecProbe probe, List<String> specs, List<Integer> splits,
                                       List<WeightFormat> weightFormats, int threads, String text) throws IOException {
        LlamaConfig c = Llama2cCheckpoint.readConfig(checkpoint);
        int n = tokens.length, d = c.dim(), L = c.nLayers();
        if (n < 2 || n > c.seqLen()) throw new IllegalArgumentException("calibration needs 2.." + c.seqLen() + " tokens, got " + n);
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) throw new IllegalArgumentException("token id " + t + " outside the vocabulary");
        }
        if (specs.isEmpty() || specs.size() > MAX_SPECS) throw new IllegalArgumentException("need 1.." + MAX_SPECS + " codec specs");
        specs.forEach(probe::check);
        List<Integer> ls = splits.isEmpty() ? java.util.stream.IntStream.range(0, L).boxed().toList() : splits;
        for (int l : ls) {
            if (l < 0 || l >= L) throw new IllegalArgumentException("calibration split " + l + " outside [0, " + (L - 1) + "]");
        }
        List<CodecPoint> points = new ArrayList<>();
        List<WeightQuality> weights = new ArrayList<>();
        try (ThreadTeam team = new ThreadTeam(threads)) {
            ModelWeights f32 = Llama2cCheckpoint.load(checkpoint, ModelSlice.all(L));
            Transformer tf = new Transformer(f32, KernelProvider.best(), team);
            // Hidden state after each block, by running one block at a time.
            float[][] after = new float[L + 1][];
            float[] x = tf.embed(tokens);
            after[0] = x.clone();
            for (int l = 0; l < L; l++) {
                tf.forward(tf.newState(l, l + 1, n), x, n);
                after[l + 1] = x.clone();
            }
            Reference ref = new Reference(tf, after[L], tokens);
            for (int l : ls) {
                for (String spec : specs) {
                    float[] rows = new float[n * d];
                    long decodeBits = 0;
                    for (int t = 0; t < n; t++) {
                        float[] row = java.util.Arrays.copyOfRange(after[l], t * d, (t + 1) * d);
                        byte[] enc = probe.encode(spec, row, 1, d);
                        decodeBits += 8L * enc.length;
                        float[] dec = probe.decode(spec, enc, 1, d);
                        if (dec.length != d) throw new IllegalStateException(probe.name() + " decoded " + dec.length + " floats, expected " + d);
                        System.arraycopy(dec, 0, rows, t * d, d);
                    }
                    long prefillBits = 0;
                    for (int t0 = 0; t0 < n; t0 += PREFILL_CHUNK) {
                        int T = Math.min(PREFILL_CHUNK, n - t0);
                        prefillBits += 8L * probe.encode(spec, java.util.Arrays.copyOfRange(after[l], t0 * d, (t0 + T) * d), T, d).length;
                    }
                    tf.forward(tf.newState(l, L, n), rows, n);
                    double[] q = ref.compare(tf, rows);
                    points.add(new CodecPoint(l, spec, (double) prefillBits / ((long) n * d), (double) decodeBits / ((long) n * d), q[0], q[1], q[2]));
                }
            }
            for (WeightFormat f : weightFormats) {
                if (f == WeightFormat.F32) continue;
                ModelWeights w = ModelQuantizer.apply(f32, PrecisionPlan.uniform(f));
                Transformer tq = new Transformer(w, KernelProvider.best(), team);
                float[] h = tq.embed(tokens);
                tq.forward(tq.newState(n), h, n);
                double[] q = ref.compare(tq, h);
                weights.add(new WeightQuality(f.id(), q[0], q[1], q[2]));
            }
        }
        Map<String, String> source = new LinkedHashMap<>();
        source.put("text", text);
        source.put("tokens", String.valueOf(n));
        source.put("codec", probe.name());
        source.put("method", "teacher-forced; rows encoded one token per frame; blocks [l, L) run on decoded rows");
        source.put("date", Instant.now().toString());
        String model = checkpoint.getFileName().toString().replaceFirst("\\.bin$", "");
        return new CalibrationTable(CalibrationTable.SCHEMA, ModelShape.of(model, c), false, source, 0, points, weights);
    }

    /** The unsplit F32 model's log-probabilities at every position, and the comparison against them. */
    private static final class Reference {
        final int n;
        final int vocab;
        final int[] tokens;
        final float[] logProbs;
        final int[] argmax;
        final double nll;

        Reference(Transformer tf, float[] hidden, int[] tokens) {
            this.n = tokens.length;
            this.vocab = tf.config().vocabSize();
            this.tokens = tokens;
            this.logProbs = logSoftmax(tf, hidden, n, vocab);
            this.argmax = new int[n];
            for (int t = 0; t < n; t++) argmax[t] = argmax(logProbs, t * vocab, vocab);
            this.nll = nll(logProbs);
        }

        private double nll(float[] lp) {
            double s = 0;
            for (int t = 0; t + 1 < n; t++) s -= lp[t * vocab + tokens[t + 1]];
            return s / (n - 1);
        }

        /** {agreement, mean KL(ref ‖ other), PPL(other) - PPL(ref)} for the final hidden state {@code hidden}. */
        double[] compare(Transformer tf, float[] hidden) {
            float[] lp = logSoftmax(tf, hidden, n, vocab);
            int agree = 0;
            double kl = 0;
            for (int t = 0; t < n; t++) {
                int o = t * vocab;
                if (argmax(lp, o, vocab) == argmax[t]) agree++;
                double k = 0;
                for (int v = 0; v < vocab; v++) {
                    double p = Math.exp(logProbs[o + v]);
                    k += p * (logProbs[o + v] - lp[o + v]);
                }
                kl += Math.max(0, k);
            }
            return new double[] {(double) agree / n, kl / n, Math.exp(nll(lp)) - Math.exp(nll)};
        }
    }

    static float[] logSoftmax(Transformer tf, float[] hidden, int n, int vocab) {
        float[] out = new float[n * vocab];
        tf.logits(hidden, 0, n, out);
        for (int t = 0; t < n; t++) {
            int o = t * vocab;
            float max = Float.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) max = Math.max(max, out[o + v]);
            double sum = 0;
            for (int v = 0; v < vocab; v++) sum += Math.exp(out[o + v] - max);
            float lse = (float) (max + Math.log(sum));
            for (int v = 0; v < vocab; v++) out[o + v] -= lse;
        }
        return out;
    }

    static int argmax(float[] a, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
        return best;
    }
}
