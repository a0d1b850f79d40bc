package dev.splitllm.eval;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Issue 19's question "what would it take to reach 6 bits per element?", asked of transform
 * coding. The wire today rotates each token (Hadamard), so its quantization error is isotropic,
 * and entropy-codes uniform codes. Rate–distortion theory says two things could beat that: a
 * KL-weighted error (put the error where the output does not look: whiten by the Fisher
 * information F of the output w.r.t. the hidden state) and a decorrelating transform (the KLT of
 * the whitened covariance, with static per-coordinate entropy tables). This study measures both
 * with the real back half of the model, not with the quadratic model alone.
 *
 * <p>Everything works on the token-normalized residual {@code u = (x − m) / rms(x)} (m the
 * calibrated mean), because the next block's RMSNorm makes the output's sensitivity scale with
 * 1 / rms(x): a fixed step on u is the per-token relative budget the codec already uses.
 * <ul>
 *   <li>{@link #fisher}: F of the per-position KL w.r.t. u, by finite differences: channel c is
 *       perturbed by ±δ (random sign per position) at every position at once and the change of the
 *       top-K logits of every position taken as that position's Jacobian column (cross-position
 *       terms average out over the signs); F = E_t[Jᵀ (diag p − p pᵀ) J] · rms_t².</li>
 *   <li>{@link #simulate}: y = A u, uniform step g on every coordinate (error isotropic in y),
 *       static per-class entropy tables (class = coordinate's std in steps, half-octaves) counted
 *       on calibration sequences and charged on held-out ones (ideal coder, no side information),
 *       and the real KL of the reconstructed hidden states through the back half.</li>
 *   <li>{@link #confidenceSteps}: a step per token from how confident the fp32 output is there
 *       (an oracle the edge would have to approximate; tried because a confident position's
 *       Fisher trace is small).</li>
 *   <li>{@link #predictionGain}: what a linear predictor from the previous token (which both sides
 *       have) would save.</li>
 * </ul>
 */
public final class TransformCodingStudy {
    /** Top logits per position kept in the Fisher estimate (they carry nearly all of p). */
    public static final int TOP_K = 64;
    /** Largest |code| the simulated coder represents; codes beyond are clamped (and show in the KL). */
    private static final int RANGE = 4096;
    private static final int CLASSES = 48;

    private final Transformer fp32;
    private final int split;
    private final int d;
    private final int vocab;

    public TransformCodingStudy(Transformer fp32, int split) {
        if (split < 1 || split >= fp32.config().nLayers()) {
            throw new IllegalArgumentException("split must be in 1.." + (fp32.config().nLayers() - 1) + ", got " + split);
        }
        this.fp32 = fp32;
        this.split = split;
        this.d = fp32.config().dim();
        this.vocab = fp32.config().vocabSize();
    }

    /** A linear transform of u and its inverse. */
    public static final class Transform {
        final String name;
        final double[][] forward;
        final double[][] inverse;
        /** One entropy table for every coordinate (as the codec's rotated rows use), else one per class. */
        final boolean oneTable;

        Transform(String name, double[][] forward, double[][] inverse, boolean oneTable) {
            this.name = name;
            this.forward = forward;
            this.inverse = inverse;
            this.oneTable = oneTable;
        }

        public String name() {
            return name;
        }
    }

    /** One simulated codec point: step g, bits per element on held-out sequences, their real mean KL. */
    public static final class Point {
        public final String transform;
        public final double step;
        public final double bitsPerElement;
        public final double meanKl;
        public final double predictedKl;
        public final int positions;

        Point(String transform, double step, double bitsPerElement, double meanKl, double predictedKl, int positions) {
            this.transform = transform;
            this.step = step;
            this.bitsPerElement = bitsPerElement;
            this.meanKl = meanKl;
            this.predictedKl = predictedKl;
            this.positions = positions;
        }
    }

    /** Per-channel mean of the hidden states (row-major T x d arrays). */
    public double[] mean(List<float[]> sequences) {
        double[] m = new double[d];
        long n = 0;
        for (float[] h : sequences) {
            int tokens = h.length / d;
            n += tokens;
            for (int t = 0; t < tokens; t++) {
                for (int c = 0; c < d; c++) {
                    m[c] += h[t * d + c];
                }
            }
        }
        for (int c = 0; c < d; c++) {
            m[c] /= n;
        }
        return m;
    }

    /** Covariance E[u uᵀ] of the token-normalized residual. */
    public double[][] covariance(List<float[]> sequences, double[] mean) {
        double[][] cov = new double[d][d];
        long n = 0;
        for (float[] h : sequences) {
            for (double[] u : normalized(h, mean)) {
                for (int c = 0; c < d; c++) {
                    for (int e = c; e < d; e++) {
                        cov[c][e] += u[c] * u[e];
                    }
                }
                n++;
            }
        }
        return symmetrize(cov, n);
    }

    /** The Fisher information of the per-position KL w.r.t. u (see the class comment). */
    public double[][] fisher(List<float[]> sequences, long seed) {
        double[][] f = new double[d][d];
        Random random = new Random(seed);
        long positions = 0;
        double[] logp = new double[vocab];
        for (float[] h : sequences) {
            int tokens = h.length / d;
            float delta = (float) (0.02 * rms(h, 0, h.length));
            float[] ref = backHalf(h, tokens);
            int[][] top = new int[tokens][TOP_K];
            double[][] p = new double[tokens][TOP_K];
            for (int t = 0; t < tokens; t++) {
                SplitEvaluator.logSoftmax(ref, t * vocab, vocab, logp);
                topIndices(logp, top[t]);
                for (int k = 0; k < TOP_K; k++) {
                    p[t][k] = Math.exp(logp[top[t][k]]);
                }
            }
            float[][][] jac = new float[tokens][d][TOP_K]; // position, channel, top logit
            float[] sign = new float[tokens];
            for (int c = 0; c < d; c++) {
                float[] x = h.clone();
                for (int t = 0; t < tokens; t++) {
                    sign[t] = random.nextBoolean() ? delta : -delta;
                    x[t * d + c] += sign[t];
                }
                float[] out = backHalf(x, tokens);
                for (int t = 0; t < tokens; t++) {
                    for (int k = 0; k < TOP_K; k++) {
                        int v = t * vocab + top[t][k];
                        jac[t][c][k] = (out[v] - ref[v]) / sign[t];
                    }
                }
            }
            double[] jp = new double[d];
            for (int t = 0; t < tokens; t++) {
                double r2 = Math.pow(rms(h, t * d, d), 2); // d/du = rms · d/dx
                for (int c = 0; c < d; c++) {
                    double s = 0;
                    for (int k = 0; k < TOP_K; k++) {
                        s += jac[t][c][k] * p[t][k];
                    }
                    jp[c] = s;
                }
                for (int c = 0; c < d; c++) {
                    for (int e = c; e < d; e++) {
                        double s = 0;
                        for (int k = 0; k < TOP_K; k++) {
                            s += jac[t][c][k] * p[t][k] * jac[t][e][k];
                        }
                        f[c][e] += r2 * (s - jp[c] * jp[e]);
                    }
                }
                positions++;
            }
        }
        return symmetrize(f, positions);
    }

    /** No transform; one entropy table per channel class, or one for all. */
    public Transform identity(boolean oneTable) {
        double[][] eye = new double[d][d];
        for (int i = 0; i < d; i++) {
            eye[i][i] = 1;
        }
        return new Transform(oneTable ? "none, one table" : "none, per-channel tables", eye, eye, oneTable);
    }

    /** A random orthonormal rotation with one table: what the codec's Hadamard rotation + rANS does. */
    public Transform randomRotation(long seed) {
        Random random = new Random(seed);
        double[][] g = new double[d][d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j <= i; j++) {
                g[i][j] = g[j][i] = random.nextGaussian();
            }
        }
        SymmetricEigen e = new SymmetricEigen(g);
        return new Transform("random rotation, one table", transpose(e.vectors), e.vectors, true);
    }

    /** The KLT of the covariance (orthonormal, so the error stays isotropic in u). */
    public Transform klt(double[][] cov) {
        SymmetricEigen e = new SymmetricEigen(cov);
        return new Transform("KLT of the covariance", transpose(e.vectors), e.vectors, false);
    }

    /** y = Qᵀ F^½ u with Q the KLT of F^½ C F^½: isotropic error in y is KL-weighted in u. */
    public Transform fisherKlt(double[][] fisher, double[][] cov) {
        SymmetricEigen fe = new SymmetricEigen(fisher);
        double floor = 1e-9 * max(fe.values);
        double[][] root = fe.apply(v -> Math.sqrt(Math.max(v, floor)));
        double[][] rootInv = fe.apply(v -> 1 / Math.sqrt(Math.max(v, floor)));
        SymmetricEigen q = new SymmetricEigen(multiply(multiply(root, cov), root));
        return new Transform("Fisher-whitened KLT", multiply(transpose(q.vectors), root), multiply(rootInv, q.vectors), false);
    }

    /**
     * Codes u with transform {@code tr} and step {@code g}: tables counted on {@code calibration},
     * bits and the real KL measured on {@code test}; {@code fisher} gives the quadratic model's KL.
     * {@code stepScale}: per-token step multipliers by sequence, or null for one step everywhere.
     */
    public Point simulate(Transform tr, double g, List<float[]> calibration, List<float[]> test, double[] mean,
                          double[][] cov, double[][] fisher, java.util.Map<float[], double[]> stepScale) {
        int[] coordClass = new int[d];
        for (int i = 0; i < d; i++) {
            double var = quadratic(tr.forward[i], cov);
            int c = (int) Math.round(2 * Math.log(Math.sqrt(Math.max(var, 1e-30)) / g) / Math.log(2)) + CLASSES / 4;
            coordClass[i] = tr.oneTable ? 0 : Math.max(0, Math.min(CLASSES - 1, c));
        }
        double[][] counts = new double[CLASSES][2 * RANGE + 1];
        for (double[] row : counts) {
            java.util.Arrays.fill(row, 0.01); // so a code unseen in calibration still has a price
        }
        for (float[] h : calibration) {
            int[] codes = new int[h.length];
            code(tr, g, stepScale == null ? null : stepScale.get(h), h, mean, codes);
            for (int e = 0; e < codes.length; e++) {
                counts[coordClass[e % d]][codes[e] + RANGE] += 1;
            }
        }
        double[] totals = new double[CLASSES];
        for (int c = 0; c < CLASSES; c++) {
            for (double v : counts[c]) {
                totals[c] += v;
            }
        }
        double bits = 0, kl = 0;
        long elements = 0;
        int positions = 0;
        double[] lp = new double[vocab], lq = new double[vocab];
        for (float[] h : test) {
            int tokens = h.length / d;
            int[] codes = new int[h.length];
            float[] decoded = code(tr, g, stepScale == null ? null : stepScale.get(h), h, mean, codes);
            for (int e = 0; e < codes.length; e++) {
                int c = coordClass[e % d];
                bits -= Math.log(counts[c][codes[e] + RANGE] / totals[c]) / Math.log(2);
            }
            elements += (long) tokens * d;
            float[] ref = backHalf(h, tokens), out = backHalf(decoded, tokens);
            for (int t = 0; t < tokens; t++) {
                SplitEvaluator.logSoftmax(ref, t * vocab, vocab, lp);
                SplitEvaluator.logSoftmax(out, t * vocab, vocab, lq);
                for (int v = 0; v < vocab; v++) {
                    kl += Math.exp(lp[v]) * (lp[v] - lq[v]);
                }
                positions++;
            }
        }
        // Quadratic model: error g²/12 per y coordinate, KL = ½ tr(Bᵀ F B) g²/12.
        return new Point(tr.name, g, bits / elements, kl / positions, 0.5 * fisherTrace(tr, fisher) * g * g / 12, positions);
    }

    /** tr(Bᵀ F B), B the inverse transform: the KL per unit of isotropic error variance in y, times 2. */
    private static double fisherTrace(Transform tr, double[][] fisher) {
        double trace = 0;
        for (double[] col : transpose(tr.inverse)) {
            trace += quadratic(col, fisher);
        }
        return trace;
    }

    /**
     * Quantizes every token of {@code h} (step g, times scale[t] when scale is not null) into
     * {@code codes} (clamped to ±RANGE); returns the reconstructed hidden states.
     */
    private float[] code(Transform tr, double g, double[] scale, float[] h, double[] mean, int[] codes) {
        float[] out = new float[h.length];
        double[] y = new double[d];
        int tokens = h.length / d;
        double[][] us = normalized(h, mean);
        for (int t = 0; t < tokens; t++) {
            double[] u = us[t];
            double step = scale == null ? g : g * scale[t];
            for (int i = 0; i < d; i++) {
                double s = 0;
                double[] a = tr.forward[i];
                for (int j = 0; j < d; j++) {
                    s += a[j] * u[j];
                }
                int q = (int) Math.max(-RANGE, Math.min(RANGE, Math.round(s / step)));
                codes[t * d + i] = q;
                y[i] = q * step;
            }
            double r = rms(h, t * d, d);
            for (int j = 0; j < d; j++) {
                double s = 0;
                double[] b = tr.inverse[j];
                for (int i = 0; i < d; i++) {
                    s += b[i] * y[i];
                }
                out[t * d + j] = (float) (s * r + mean[j]);
            }
        }
        return out;
    }

    /**
     * Bits per element a least-squares predictor of u_t from u_{t−1} (ridge 1e-3, fitted on
     * {@code calibration}) would save on {@code test}: ½ log2(E|u|² / E|u − P u_prev|²); negative
     * when the predictor does worse than none.
     */
    /**
     * {@code diagonal}: one coefficient per channel
     * (u_t,c ≈ a_c u_{t−1},c), which cannot overfit the way d × d coefficients can on a few thousand
     * time-correlated tokens.
     */
    public double predictionGain(List<float[]> calibration, List<float[]> test, double[] mean, boolean diagonal) {
        if (diagonal) {
            double[] sxx = new double[d], syx = new double[d];
            for (float[] h : calibration) {
                double[][] u = normalized(h, mean);
                for (int t = 1; t < u.length; t++) {
                    for (int c = 0; c < d; c++) {
                        sxx[c] += u[t - 1][c] * u[t - 1][c];
                        syx[c] += u[t][c] * u[t - 1][c];
                    }
                }
            }
            double plain = 0, residual = 0;
            for (float[] h : test) {
                double[][] u = normalized(h, mean);
                for (int t = 1; t < u.length; t++) {
                    for (int c = 0; c < d; c++) {
                        double r = u[t][c] - syx[c] / sxx[c] * u[t - 1][c];
                        plain += u[t][c] * u[t][c];
                        residual += r * r;
                    }
                }
            }
            return 0.5 * Math.log(plain / residual) / Math.log(2);
        }
        double[][] sxx = new double[d][d], syx = new double[d][d];
        for (float[] h : calibration) {
            double[][] u = normalized(h, mean);
            for (int t = 1; t < u.length; t++) {
                for (int i = 0; i < d; i++) {
                    for (int j = 0; j < d; j++) {
                        sxx[i][j] += u[t - 1][i] * u[t - 1][j];
                        syx[i][j] += u[t][i] * u[t - 1][j];
                    }
                }
            }
        }
        double trace = 0;
        for (int i = 0; i < d; i++) {
            trace += sxx[i][i];
        }
        for (int i = 0; i < d; i++) {
            sxx[i][i] += 1e-3 * trace / d;
        }
        SymmetricEigen e = new SymmetricEigen(sxx);
        double[][] p = multiply(syx, e.apply(v -> 1 / v));
        double plain = 0, residual = 0;
        for (float[] h : test) {
            double[][] u = normalized(h, mean);
            for (int t = 1; t < u.length; t++) {
                for (int i = 0; i < d; i++) {
                    double s = 0;
                    for (int j = 0; j < d; j++) {
                        s += p[i][j] * u[t - 1][j];
                    }
                    plain += u[t][i] * u[t][i];
                    residual += (u[t][i] - s) * (u[t][i] - s);
                }
            }
        }
        return 0.5 * Math.log(plain / residual) / Math.log(2);
    }

    /** The back half (blocks [split, L) and the head) on hidden states: logits of every position. */
    float[] backHalf(float[] hidden, int tokens) {
        SegmentState st = fp32.newState(split, fp32.config().nLayers(), tokens);
        float[] x = hidden.clone();
        fp32.forward(st, x, tokens);
        float[] out = new float[tokens * vocab];
        fp32.logits(x, 0, tokens, out);
        return out;
    }

    private double[][] normalized(float[] h, double[] mean) {
        int tokens = h.length / d;
        double[][] u = new double[tokens][d];
        for (int t = 0; t < tokens; t++) {
            double r = rms(h, t * d, d);
            for (int c = 0; c < d; c++) {
                u[t][c] = (h[t * d + c] - mean[c]) / r;
            }
        }
        return u;
    }

    private static void topIndices(double[] logp, int[] top) {
        Integer[] idx = new Integer[logp.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        java.util.Arrays.sort(idx, (a, b) -> Double.compare(logp[b], logp[a]));
        for (int k = 0; k < top.length; k++) {
            top[k] = idx[k];
        }
    }

    static double rms(float[] h, int offset, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += h[offset + i] * (double) h[offset + i];
        }
        return Math.sqrt(s / n);
    }

    private static double[][] symmetrize(double[][] upper, long n) {
        for (int c = 0; c < upper.length; c++) {
            for (int e = c; e < upper.length; e++) {
                upper[c][e] /= n;
                upper[e][c] = upper[c][e];
            }
        }
        return upper;
    }

    private static double quadratic(double[] v, double[][] m) {
        double s = 0;
        for (int i = 0; i < v.length; i++) {
            double r = 0;
            for (int j = 0; j < v.length; j++) {
                r += m[i][j] * v[j];
            }
            s += v[i] * r;
        }
        return s;
    }

    static double[][] multiply(double[][] a, double[][] b) {
        int n = a.length, m = b[0].length, inner = b.length;
        double[][] c = new double[n][m];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < inner; k++) {
                double x = a[i][k];
                for (int j = 0; j < m; j++) {
                    c[i][j] += x * b[k][j];
                }
            }
        }
        return c;
    }

    static double[][] transpose(double[][] a) {
        double[][] t = new double[a[0].length][a.length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                t[j][i] = a[i][j];
            }
        }
        return t;
    }

    private static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double x : v) {
            m = Math.max(m, x);
        }
        return m;
    }

    /** Bits at {@code targetKl}, interpolated in log KL between the two points that bracket it, or NaN. */
    static double bitsAt(List<Point> points, double targetKl) {
        for (int i = 0; i + 1 < points.size(); i++) {
            Point a = points.get(i), b = points.get(i + 1);
            double lo = Math.min(a.meanKl, b.meanKl), hi = Math.max(a.meanKl, b.meanKl);
            if (targetKl >= lo && targetKl <= hi && lo > 0) {
                double f = Math.log(targetKl / a.meanKl) / Math.log(b.meanKl / a.meanKl);
                return a.bitsPerElement + f * (b.bitsPerElement - a.bitsPerElement);
            }
        }
        return Double.NaN;
    }

    public static void main(String[] args) throws IOException {
        try {
            run(args);
        } catch (IllegalArgumentException e) {
            System.err.println("TransformCodingStudy: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void run(String[] args) throws IOException {
        int split = 3, fisherSequences = 4, threads = 2;
        double targetKl = 7.33e-5; // Q8_0's KL in the headline run (docs/RESULTS.md)
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println("usage: TransformCodingStudy [--split L (3)] [--fisher-sequences N (4)] [--target-kl KL (7.33e-5)] [--threads N (2)]");
                System.out.println("Calibrates on the first 16 of the 32 story continuations, measures on the other 16.");
                return;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--split" -> split = Integer.parseInt(v);
                case "--fisher-sequences" -> fisherSequences = Integer.parseInt(v);
                case "--target-kl" -> targetKl = Double.parseDouble(v);
                case "--threads" -> threads = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown argument " + a + " (try --help)");
            }
        }
        long t0 = System.nanoTime();
        BuiltInModel model = BuiltInModel.loadF32();
        ModelWeights weights = model.weights;
        Tokenizer tok = model.tokenizer;
        try (ThreadTeam team = new ThreadTeam(threads)) {
            Transformer tf = new Transformer(weights, KernelProvider.best(), team);
            TransformCodingStudy study = new TransformCodingStudy(tf, split);
            List<float[]> all = new ArrayList<>();
            for (float[][] h : CodecCalibration.hiddenStates(tf, tok)) {
                all.add(h[split]);
            }
            List<float[]> calibration = all.subList(0, all.size() / 2), test = all.subList(all.size() / 2, all.size());
            double[] mean = study.mean(calibration);
            double[][] cov = study.covariance(calibration, mean);
            System.out.printf(Locale.ROOT, "split %d: %d calibration and %d test sequences; Fisher from %d sequences (%.0f s so far)%n",
                    split, calibration.size(), test.size(), fisherSequences, (System.nanoTime() - t0) / 1e9);
            double[][] fisher = study.fisher(calibration.subList(0, Math.min(fisherSequences, calibration.size())), 1);
            SymmetricEigen fe = new SymmetricEigen(fisher);
            double[] diag = new double[fisher.length];
            for (int i = 0; i < diag.length; i++) {
                diag[i] = fisher[i][i];
            }
            System.out.printf(Locale.ROOT, "Fisher: high-rate gain of its diagonal %.3f bits, of its eigenvalues %.3f bits (%.0f s)%n",
                    gainBits(diag), gainBits(fe.values), (System.nanoTime() - t0) / 1e9);
            System.out.printf(Locale.ROOT, "prediction from the previous token: %.3f bits per element (d x d least squares), %.3f (per channel)%n",
                    study.predictionGain(calibration, test, mean, false), study.predictionGain(calibration, test, mean, true));
            System.out.println("| transform | step g | bits/el (ideal static tables) | mean KL | KL the Fisher model predicts |");
            System.out.println("|---|---:|---:|---:|---:|");
            List<String> summary = new ArrayList<>();
            for (Transform tr : List.of(study.randomRotation(7), study.identity(true), study.identity(false),
                    study.klt(cov), study.fisherKlt(fisher, cov))) {
                summary.add(sweep(study, tr, tr.name, calibration, test, mean, cov, fisher, null, targetKl));
            }
            for (double exponent : new double[] {0.25, 0.5}) {
                summary.add(sweep(study, study.randomRotation(7), String.format(Locale.ROOT,
                        "random rotation, one table, step x (1 - p_max)^-%.2f (oracle)", exponent), calibration, test, mean, cov, fisher,
                        study.confidenceSteps(all, calibration, exponent), targetKl));
            }
            summary.forEach(System.out::println);
            System.out.printf(Locale.ROOT, "%.0f s%n", (System.nanoTime() - t0) / 1e9);
        }
    }

    /** Five steps around the one the quadratic model picks for {@code targetKl}; prints each point, returns the summary line. */
    private static String sweep(TransformCodingStudy study, Transform tr, String name, List<float[]> calibration, List<float[]> test,
                                double[] mean, double[][] cov, double[][] fisher, java.util.Map<float[], double[]> stepScale,
                                double targetKl) {
        double g0 = Math.sqrt(24 * targetKl / fisherTrace(tr, fisher));
        List<Point> points = new ArrayList<>();
        for (double f : new double[] {0.5, 0.7, 1.0, 1.4, 2.0}) {
            Point p = study.simulate(tr, g0 * f, calibration, test, mean, cov, fisher, stepScale);
            points.add(p);
            System.out.printf(Locale.ROOT, "| %s | %.5f | %.3f | %.3g | %.3g |%n", name, p.step, p.bitsPerElement, p.meanKl, p.predictedKl);
        }
        return String.format(Locale.ROOT, "%s: %.2f b/el at KL %.3g", name, bitsAt(points, targetKl), targetKl);
    }

    /**
     * Oracle step allocation across tokens: step × (w_t / w̄)^(−exponent), w_t = max(1 − p_max, 1e-3)
     * of the fp32 output at that position (a confident position has a small Fisher trace, so it
     * should tolerate a coarser step), w̄ their geometric mean on {@code calibration}; multipliers
     * clamped to [1/8, 8].
     */
    java.util.Map<float[], double[]> confidenceSteps(List<float[]> sequences, List<float[]> calibration, double exponent) {
        java.util.Map<float[], double[]> weights = new java.util.IdentityHashMap<>();
        double[] lp = new double[vocab];
        double logSum = 0;
        int n = 0;
        for (float[] h : sequences) {
            int tokens = h.length / d;
            float[] ref = backHalf(h, tokens);
            double[] w = new double[tokens];
            for (int t = 0; t < tokens; t++) {
                SplitEvaluator.logSoftmax(ref, t * vocab, vocab, lp);
                double best = Double.NEGATIVE_INFINITY;
                for (double v : lp) {
                    best = Math.max(best, v);
                }
                w[t] = Math.max(1 - Math.exp(best), 1e-3);
            }
            weights.put(h, w);
        }
        for (float[] h : calibration) {
            for (double v : weights.get(h)) {
                logSum += Math.log(v);
                n++;
            }
        }
        double geometric = Math.exp(logSum / n);
        java.util.Map<float[], double[]> scale = new java.util.IdentityHashMap<>();
        for (float[] h : sequences) {
            double[] w = weights.get(h), m = new double[w.length];
            for (int t = 0; t < w.length; t++) {
                m[t] = Math.max(0.125, Math.min(8, Math.pow(w[t] / geometric, -exponent)));
            }
            scale.put(h, m);
        }
        return scale;
    }

    /** ½ log2(arithmetic / geometric mean): the high-rate gain of coding with these weights. */
    static double gainBits(double[] values) {
        double am = 0, lg = 0;
        for (double v : values) {
            am += v / values.length;
            lg += Math.log(Math.max(v, 1e-300)) / values.length;
        }
        return 0.5 * Math.log(am / Math.exp(lg)) / Math.log(2);
    }
}
