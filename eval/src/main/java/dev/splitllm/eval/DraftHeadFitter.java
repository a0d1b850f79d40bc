package dev.splitllm.eval;

import dev.splitllm.engine.draft.DraftHead;
import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Fits the exit-head drafter's adapter ({@link DraftHead}) for a split layer l by least squares:
 * teacher-forced over calibration windows, the full model gives at every position the residual
 * stream at the cut (after block l-1, the input) and after the last block (the target, divided by
 * its RMS: the final norm discards that scale anyway). Normal equations of y = W·h + b are
 * accumulated in double ((d+1)² + (d+1)·d values, whatever the number of positions) and solved by
 * Cholesky with a small ridge term. Host-side tooling (calibrate --draft-head); the edge only reads
 * the result.
 *
 * <p>Measured on stories15M, held-out top-1 agreement with the full model's argmax on the model's
 * own stories (about 3.4k positions): at split 3 the raw exit gives 0.17, the fit on 5k positions
 * 0.35 with the plain target and 0.36 with the RMS-normalised one, 0.39 on 27k positions (the
 * default); splits 1..5 reach 0.30, 0.33, 0.39, 0.47, 0.64 (raw 0.00, 0.06, 0.17, 0.31, 0.53). The
 * ridge hardly matters once positions outnumber d many times (1e-4 to 1e-2 within 0.005); weighting
 * positions by the full model's confidence gained 0.003 (noise); fitting on Austen gave 0.26.
 */
public final class DraftHeadFitter {
    public static final double DEFAULT_RIDGE = 1e-3;

    private final Transformer tf;
    private final int split;
    private final int d;
    /** Gram matrix of [h, 1]: (d+1) x (d+1), row-major, upper triangle filled while accumulating. */
    private final double[] gram;
    /** [h, 1]^T y: (d+1) x d, row-major. */
    private final double[] cross;
    private long positions;

    /** A fitter for the cut after {@code split} blocks of {@code tf}'s model (which must hold every block and the head). */
    public DraftHeadFitter(Transformer tf, int split) {
        LlamaConfig c = tf.config();
        if (split < 0 || split > c.nLayers()) {
            throw new IllegalArgumentException("split layer must be in [0, " + c.nLayers() + "], got " + split);
        }
        ModelWeights w = tf.weights();
        if (w.classifier() == null || w.tokenEmbedding() == null || w.slice().firstLayer() != 0 || w.slice().endLayer() != c.nLayers()) {
            throw new IllegalArgumentException("fitting a draft head needs the whole model (embedding, every block, head), got slice "
                    + w.slice());
        }
        this.tf = tf;
        this.split = split;
        this.d = c.dim();
        this.gram = new double[(d + 1) * (d + 1)];
        this.cross = new double[(d + 1) * d];
    }

    public int split() {
        return split;
    }

    /** Positions accumulated so far. */
    public long positions() {
        return positions;
    }

    /**
     * Adds the positions of one window (BOS first, at most the model's context), run teacher-forced
     * through the whole model.
     */
    public void add(int[] window) {
        checkWindow(tf, window);
        float[][] h = ResidualCapture.afterEachBlock(tf, window);
        add(h[split], h[tf.config().nLayers()], window.length);
    }

    /**
     * Adds positions 1..T-1 of a window whose residual streams are already known (from
     * {@link ResidualCapture}, so that one pass serves several split layers): {@code cut} after
     * block split-1, {@code last} after the last block, both T x d. Position 0 is left out: the
     * BOS row is an outlier of the residual stream (an attention sink) and no draft starts there.
     */
    public void add(float[] cut, float[] last, int tokens) {
        if (tokens < 2 || cut.length < tokens * d || last.length < tokens * d) {
            throw new IllegalArgumentException("need 2 or more rows of " + d + " floats at the cut and after the last block");
        }
        int n = tokens - 1, d1 = d + 1;
        // Columns of [h, 1] and of the target, position-major, so that every sum below runs over contiguous memory.
        double[] hc = new double[d1 * n];
        double[] yc = new double[d * n];
        for (int t = 0; t < n; t++) {
            int row = (t + 1) * d;
            // The target is the last residual divided by its RMS (the final norm's input scale is
            // lost in the norm anyway): every position weighs the same, whatever its norm.
            double ss = 0;
            for (int j = 0; j < d; j++) {
                ss += (double) last[row + j] * last[row + j];
            }
            double scale = 1 / Math.sqrt(ss / d + tf.config().normEps());
            for (int j = 0; j < d; j++) {
                hc[j * n + t] = cut[row + j];
                yc[j * n + t] = last[row + j] * scale;
            }
            hc[d * n + t] = 1;
        }
        for (int i = 0; i < d1; i++) {
            int ai = i * n;
            for (int j = i; j < d1; j++) {
                gram[i * d1 + j] += dot(hc, ai, hc, j * n, n);
            }
            for (int j = 0; j < d; j++) {
                cross[i * d + j] += dot(hc, ai, yc, j * n, n);
            }
        }
        positions += n;
    }

    private static void checkWindow(Transformer tf, int[] window) {
        if (window.length < 2 || window.length > tf.config().seqLen()) {
            throw new IllegalArgumentException("a calibration window needs 2.." + tf.config().seqLen() + " tokens, got " + window.length);
        }
    }

    private static double dot(double[] a, int aOff, double[] b, int bOff, int n) {
        double s = 0;
        for (int k = 0; k < n; k++) {
            s += a[aOff + k] * b[bOff + k];
        }
        return s;
    }

    /**
     * The least-squares adapter with ridge {@code ridge}, relative to the mean of the Gram diagonal
     * (so it does not depend on the residual stream's scale; the bias is not shrunk).
     */
    public DraftHead solve(double ridge) {
        if (positions <= d) {
            throw new IllegalStateException("only " + positions + " calibration positions for a " + d + "-wide adapter; give more text");
        }
        if (!(ridge >= 0) || Double.isInfinite(ridge)) {
            throw new IllegalArgumentException("ridge must be >= 0, got " + ridge);
        }
        int d1 = d + 1;
        double[] a = new double[d1 * d1];
        double trace = 0;
        for (int i = 0; i < d; i++) {
            trace += gram[i * d1 + i];
        }
        double lambda = ridge * trace / d;
        for (int i = 0; i < d1; i++) {
            for (int j = i; j < d1; j++) {
                a[i * d1 + j] = gram[i * d1 + j];
                a[j * d1 + i] = gram[i * d1 + j];
            }
            if (i < d) {
                a[i * d1 + i] += lambda;
            }
        }
        cholesky(a, d1);
        double[] coef = cross.clone(); // (d+1) x d: column i is output i
        solveInPlace(a, d1, coef, d);
        float[] w = new float[d * d];
        float[] b = new float[d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                w[i * d + j] = (float) coef[j * d + i];
            }
            b[i] = (float) coef[d * d + i];
        }
        LlamaConfig c = tf.config();
        long fingerprint = DraftHead.fingerprint(c, tf.weights().rmsFinal(), tf.weights().classifier());
        return new DraftHead(split, d, c.nLayers(), c.vocabSize(), fingerprint, w, b);
    }

    /** Fits the adapter at {@code split} on {@code windows} with ridge {@code ridge} (see {@link #solve}). */
    public static DraftHead fit(Transformer tf, int split, List<int[]> windows, double ridge) {
        DraftHeadFitter f = new DraftHeadFitter(tf, split);
        for (int[] w : windows) {
            f.add(w);
        }
        return f.solve(ridge);
    }

    /** In place: the lower triangle of a (n x n, symmetric positive definite) becomes L with a = L L^T. */
    static void cholesky(double[] a, int n) {
        for (int j = 0; j < n; j++) {
            double s = a[j * n + j];
            for (int k = 0; k < j; k++) {
                s -= a[j * n + k] * a[j * n + k];
            }
            if (!(s > 0)) {
                throw new IllegalStateException("the calibration positions do not determine the adapter (Gram matrix not positive"
                        + " definite at column " + j + "); use a ridge above 0 or more text");
            }
            double ljj = Math.sqrt(s);
            a[j * n + j] = ljj;
            for (int i = j + 1; i < n; i++) {
                double v = a[i * n + j];
                for (int k = 0; k < j; k++) {
                    v -= a[i * n + k] * a[j * n + k];
                }
                a[i * n + j] = v / ljj;
            }
        }
    }

    /** Solves L L^T X = B in place for B (n x m, row-major), L from {@link #cholesky}. */
    static void solveInPlace(double[] l, int n, double[] b, int m) {
        for (int i = 0; i < n; i++) { // forward: L Z = B
            for (int k = 0; k < i; k++) {
                double f = l[i * n + k];
                for (int c = 0; c < m; c++) {
                    b[i * m + c] -= f * b[k * m + c];
                }
            }
            double inv = 1 / l[i * n + i];
            for (int c = 0; c < m; c++) {
                b[i * m + c] *= inv;
            }
        }
        for (int i = n - 1; i >= 0; i--) { // backward: L^T X = Z
            for (int k = i + 1; k < n; k++) {
                double f = l[k * n + i];
                for (int c = 0; c < m; c++) {
                    b[i * m + c] -= f * b[k * m + c];
                }
            }
            double inv = 1 / l[i * n + i];
            for (int c = 0; c < m; c++) {
                b[i * m + c] *= inv;
            }
        }
    }

    // ---- agreement -----------------------------------------------------------------------------

    /** Teacher-forced top-1 agreement with the full model of the fitted exit head and of the raw exit. */
    public static final class Agreement {
        public final double exit;
        public final double raw;
        public final long positions;

        Agreement(double exit, double raw, long positions) {
            this.exit = exit;
            this.raw = raw;
            this.positions = positions;
        }

        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "agreement %.3f (raw exit %.3f) over %d positions", exit, raw, positions);
        }
    }

    /**
     * Over every position but BOS of {@code windows}: how often the argmax of the exit head (the
     * adapter, then the model's final norm and classifier) equals the full model's argmax, and the
     * same for the raw exit (the cut's hidden state straight into the final norm).
     */
    public static Agreement agreement(Transformer tf, DraftHead head, List<int[]> windows) {
        return agreement(tf, List.of(head), windows).get(0);
    }

    /** {@link #agreement(Transformer, DraftHead, List)} of several heads (split layers), with one pass of the model per window. */
    public static List<Agreement> agreement(Transformer tf, List<DraftHead> heads, List<int[]> windows) {
        LlamaConfig c = tf.config();
        int d = c.dim(), L = c.nLayers(), k = heads.size();
        for (DraftHead head : heads) {
            head.checkModel(c, head.fingerprint()); // shape only: the caller pairs heads and model
        }
        long[] same = new long[k], sameRaw = new long[k];
        long n = 0;
        for (int[] window : windows) {
            checkWindow(tf, window);
            float[][] h = ResidualCapture.afterEachBlock(tf, window);
            int rows = window.length - 1;
            int[] full = argmaxRows(tf, h[L], 1, rows);
            for (int i = 0; i < k; i++) {
                DraftHead head = heads.get(i);
                float[] cut = h[head.splitLayer()];
                float[] w = head.weights(), bias = head.bias();
                float[] adapted = new float[rows * d];
                for (int t = 0; t < rows; t++) {
                    for (int j = 0; j < d; j++) {
                        adapted[t * d + j] = tf.kernels().dotF32(w, j * d, cut, (t + 1) * d, d) + bias[j];
                    }
                }
                int[] exit = argmaxRows(tf, adapted, 0, rows);
                int[] raw = argmaxRows(tf, cut, 1, rows);
                for (int t = 0; t < rows; t++) {
                    if (exit[t] == full[t]) same[i]++;
                    if (raw[t] == full[t]) sameRaw[i]++;
                }
            }
            n += rows;
        }
        if (n == 0) {
            throw new IllegalArgumentException("no held-out positions");
        }
        List<Agreement> out = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            out.add(new Agreement((double) same[i] / n, (double) sameRaw[i] / n, n));
        }
        return out;
    }

    /** Argmax of the logits of rows [first, first+rows) of x, a few rows at a time (bounded memory). */
    private static int[] argmaxRows(Transformer tf, float[] x, int first, int rows) {
        int vocab = tf.config().vocabSize(), chunk = 32;
        float[] logits = new float[Math.min(chunk, rows) * vocab];
        int[] out = new int[rows];
        for (int r0 = 0; r0 < rows; r0 += chunk) {
            int m = Math.min(chunk, rows - r0);
            tf.logits(x, first + r0, m, logits);
            for (int t = 0; t < m; t++) {
                int best = 0, off = t * vocab;
                for (int v = 1; v < vocab; v++) {
                    if (logits[off + v] > logits[off + best]) best = v;
                }
                out[r0 + t] = best;
            }
        }
        return out;
    }

    // ---- calibration text ----------------------------------------------------------------------

    /** Story windows generated by default for fitting (about 27k positions with stories15M). */
    public static final int DEFAULT_FIT_STORIES = 128;
    /** Story windows generated by default for the held-out agreement (about 3.4k positions). */
    public static final int DEFAULT_HELD_OUT_STORIES = 16;
    /** Tokens per story window, BOS included (stories15M's whole context). */
    public static final int STORY_TOKENS = 256;
    /** Streams decoded together: enough to read each weight row once for many tokens, few enough to bound the KV caches. */
    private static final int STORY_BATCH = 16;

    /** Calibration windows and held-out windows (disjoint), with a line saying where they came from. */
    public static final class Texts {
        public final List<int[]> fit;
        public final List<int[]> heldOut;
        public final String description;

        public Texts(List<int[]> fit, List<int[]> heldOut, String description) {
            if (fit.isEmpty() || heldOut.isEmpty()) {
                throw new IllegalArgumentException("need calibration and held-out windows, got " + fit.size() + " and " + heldOut.size());
            }
            this.fit = fit;
            this.heldOut = heldOut;
            this.description = description;
        }

        static long tokens(List<int[]> windows) {
            long n = 0;
            for (int[] w : windows) n += w.length;
            return n;
        }
    }

    /**
     * The default: the model's own continuations of the story openings (see {@link #stories}),
     * {@code fitStories} windows to fit and {@code heldStories} others, from other openings and
     * another seed, to measure. Needs nothing but the model, so it works offline for any model;
     * with stories15M it fits far better than Austen (held-out agreement 0.39 against 0.26 on the
     * model's stories: in-domain text matters more than volume).
     */
    public static Texts selfGenerated(Transformer tf, Tokenizer tok, int fitStories, int heldStories) {
        return selfGenerated(tf, tok, fitStories, heldStories, null);
    }

    /** As above, reporting each batch of generated windows to {@code progress} (may be null). */
    public static Texts selfGenerated(Transformer tf, Tokenizer tok, int fitStories, int heldStories, Consumer<String> progress) {
        List<int[]> fit = stories(tf, tok, fitStories, STORY_TOKENS, 0, 0x5eed_0001L, progress);
        List<int[]> held = stories(tf, tok, heldStories, STORY_TOKENS, PromptSet.STORIES.size() / 2 + 3, 0x5eed_0002L, progress);
        return new Texts(fit, held, "the model's own continuations of " + fitStories + " story openings (" + Texts.tokens(fit)
                + " tokens; " + heldStories + " more held out, " + Texts.tokens(held) + " tokens)");
    }

    /** A user's text: its first {@code maxTokens} tokens in windows, the last tenth (at least one window) held out. */
    public static Texts fromText(Tokenizer tok, String text, int maxTokens, String name) {
        List<int[]> all = textWindows(tok, text, maxTokens);
        if (all.size() < 2) {
            throw new IllegalArgumentException(name + " gives " + Texts.tokens(all) + " tokens, one window; need at least two windows of "
                    + TextWindows.WIDTH + " tokens (one to fit, one to measure), and far more to fit well");
        }
        int held = Math.max(1, all.size() / 10);
        List<int[]> fit = new ArrayList<>(all.subList(0, all.size() - held));
        List<int[]> out = new ArrayList<>(all.subList(all.size() - held, all.size()));
        return new Texts(fit, out, name + " (" + Texts.tokens(fit) + " tokens; the last " + Texts.tokens(out) + " held out)");
    }

    /**
     * Windows of up to {@link TextWindows#WIDTH} tokens of prose (the convention of
     * {@link TextWindows}), each after BOS when the tokenizer has one, at most {@code maxTokens} in all.
     */
    public static List<int[]> textWindows(Tokenizer tok, String text, int maxTokens) {
        int[] stream = TextWindows.stream(tok, TextWindows.paragraphs(text), maxTokens);
        if (tok.bos() >= 0) {
            return TextWindows.windows(stream, tok.bos());
        }
        List<int[]> out = new ArrayList<>(); // no BOS: plain windows (their first position is still left out)
        for (int at = 0; at < stream.length; at += TextWindows.WIDTH + 1) {
            out.add(java.util.Arrays.copyOfRange(stream, at, Math.min(stream.length, at + TextWindows.WIDTH + 1)));
        }
        return out;
    }

    /**
     * The model's own sampled continuations (temperature 1, seeded) of the project's story openings
     * ({@link PromptSet#STORIES} from {@code firstStory} on, cycling), one window of up to
     * {@code tokens} tokens (BOS first) each, ending early at an end of story: in-domain text with
     * no file to fetch, the very distribution the drafter is asked to predict. Streams decode in
     * batches ({@link Transformer#forwardBatch}), so each weight row is read once per step of many.
     */
    public static List<int[]> stories(Transformer tf, Tokenizer tok, int windows, int tokens, int firstStory, long seed) {
        return stories(tf, tok, windows, tokens, firstStory, seed, null);
    }

    /** As above, reporting each batch to {@code progress} (may be null). */
    public static List<int[]> stories(Transformer tf, Tokenizer tok, int windows, int tokens, int firstStory, long seed,
                                      Consumer<String> progress) {
        if (windows < 1) {
            throw new IllegalArgumentException("need at least one story window, got " + windows);
        }
        if (tokens < 2) {
            throw new IllegalArgumentException("story windows need at least 2 tokens, got " + tokens);
        }
        Sampler sampler = new Sampler(1f, 1f, seed);
        List<int[]> out = new ArrayList<>();
        for (int from = 0; from < windows; from += STORY_BATCH) {
            out.addAll(storyBatch(tf, tok, Math.min(STORY_BATCH, windows - from), Math.min(tokens, tf.config().seqLen()),
                    firstStory + from, sampler));
            if (progress != null) {
                progress.accept("generated " + out.size() + " of " + windows + " story windows (" + Texts.tokens(out) + " tokens)");
            }
        }
        return out;
    }

    private static List<int[]> storyBatch(Transformer tf, Tokenizer tok, int windows, int cap, int firstStory, Sampler sampler) {
        int vocab = tf.config().vocabSize(), d = tf.config().dim();
        int[][] seq = new int[windows][];
        int[] len = new int[windows];
        SegmentState[] state = new SegmentState[windows];
        int[] next = new int[windows];
        float[] logits = new float[vocab];
        for (int s = 0; s < windows; s++) { // prefill each opening on its own
            int[] prompt = tok.encode(PromptSet.STORIES.get((firstStory + s) % PromptSet.STORIES.size()), true);
            int n = Math.min(prompt.length, cap);
            seq[s] = java.util.Arrays.copyOf(prompt, cap);
            len[s] = n;
            state[s] = tf.newState(cap);
            float[] x = tf.embed(java.util.Arrays.copyOf(prompt, n));
            tf.forward(state[s], x, n);
            tf.logits(x, n - 1, logits);
            next[s] = sampler.sample(logits);
        }
        Transformer.BatchBuffers buf = new Transformer.BatchBuffers();
        int[] live = new int[windows];
        boolean[] done = new boolean[windows];
        SegmentState[] batch = new SegmentState[windows];
        int[] ones = new int[windows];
        int[] rows = new int[windows];
        for (int i = 0; i < windows; i++) {
            ones[i] = 1;
            rows[i] = i;
        }
        float[] out = new float[windows * vocab];
        while (true) {
            int n = 0;
            for (int s = 0; s < windows; s++) { // append the sampled token; a stream ends at the cap or an end of story
                if (done[s]) {
                    continue;
                }
                if (len[s] == cap || next[s] == tok.eos() || next[s] == tok.bos()) {
                    done[s] = true;
                    continue;
                }
                seq[s][len[s]++] = next[s];
                if (len[s] < cap) {
                    live[n++] = s;
                } else {
                    done[s] = true;
                }
            }
            if (n == 0) {
                break;
            }
            float[] x = new float[n * d];
            for (int i = 0; i < n; i++) {
                batch[i] = state[live[i]];
                tf.weights().tokenEmbedding().readRow(seq[live[i]][len[live[i]] - 1], x, i * d);
            }
            tf.forwardBatch(batch, ones, n, x, buf);
            tf.logitsRows(x, rows, n, out, buf);
            for (int i = 0; i < n; i++) {
                System.arraycopy(out, i * vocab, logits, 0, vocab);
                next[live[i]] = sampler.sample(logits);
            }
        }
        List<int[]> result = new ArrayList<>();
        for (int s = 0; s < windows; s++) {
            result.add(java.util.Arrays.copyOf(seq[s], len[s]));
        }
        return result;
    }
}
