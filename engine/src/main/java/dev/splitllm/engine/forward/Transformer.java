package dev.splitllm.engine.forward;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.Q8Activations;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.SlidingWindow;
import dev.splitllm.engine.tensor.F32Matrix;
import dev.splitllm.engine.tensor.WeightMatrix;

/**
 * The Llama forward pass, by layer range. Hidden states are row-major {@code T x dim} float
 * arrays: {@link #embed} makes them, {@link #forward} runs a {@link SegmentState}'s blocks over
 * them in place, {@link #logits} turns a row into next-token scores. A caller can therefore
 * stop after any block, send the hidden state elsewhere, and resume there with another
 * state, which is exactly the edge/cloud seam.
 *
 * <p>Stateless apart from read-only weights: one instance serves many sessions, each with
 * its own {@link SegmentState}. Calls on the same state must not overlap.
 *
 * <p>Not final only so that {@link HookedTransformer} (evaluation baselines and calibration)
 * can see the matmul inputs; the plain class holds no hook, and its {@link #matmulInput} is
 * empty, which the JIT inlines away while no subclass is loaded.
 */
public class Transformer {
    private final ModelWeights weights;
    private final LlamaConfig config;
    private final Kernels kernels;
    private final ThreadTeam team;
    /** RoPE angles with the model's scaling. */
    private final RopeTable rope;

    public Transformer(ModelWeights weights, Kernels kernels, ThreadTeam team) {
        this.weights = weights;
        this.config = weights.config();
        this.kernels = kernels;
        this.team = team;
        this.rope = new RopeTable(config);
    }

    public final LlamaConfig config() {
        return config;
    }

    public final ModelWeights weights() {
        return weights;
    }

    public final Kernels kernels() {
        return kernels;
    }

    /** A fresh state for this model's blocks [first, end) holding up to {@code capacity} positions. */
    public final SegmentState newState(int first, int end, int capacity) {
        for (int l = first; l < end; l++) {
            weights.layer(l); // throws if this process does not hold the layer
        }
        return new SegmentState(config, first, end, capacity);
    }

    /** A state for every block this process holds. */
    public final SegmentState newState(int capacity) {
        return newState(weights.slice().firstLayer(), weights.slice().endLayer(), capacity);
    }

    /** Token embeddings, {@code tokens.length x dim}. */
    public final float[] embed(int[] tokens) {
        WeightMatrix table = weights.tokenEmbedding();
        if (table == null) {
            throw new IllegalStateException("this model slice has no token embedding");
        }
        int d = config.dim();
        float[] x = new float[tokens.length * d];
        for (int t = 0; t < tokens.length; t++) {
            int id = tokens[t];
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
            table.readRow(id, x, t * d);
        }
        return x;
    }

    /**
     * Runs the state's blocks over {@code T} tokens whose hidden states are in x (T x dim),
     * at positions state.length() .. state.length()+T-1, in place. Appends their keys and
     * values to the state's cache.
     */
    public final void forward(SegmentState state, float[] x, int T) {
        forward(state, x, T, false);
    }

    /**
     * As {@link #forward}, but every row gets exactly the bits that T successive one-token forwards
     * would give it (each row meets the one-token kernels), while each weight panel is still read
     * from memory once for all T rows. Verifying drafted tokens relies on it: a speculative step
     * must produce the tokens the plain one-token steps would have produced.
     */
    public final void forwardAsSteps(SegmentState state, float[] x, int T) {
        forward(state, x, T, true);
    }

    private void forward(SegmentState state, float[] x, int T, boolean asSteps) {
        int d = config.dim();
        if (T <= 0 || x.length < T * d) {
            throw new IllegalArgumentException("hidden state holds " + x.length + " floats, need " + T + " x " + d);
        }
        int start = state.length();
        if (start + T > state.capacity()) {
            throw new IllegalArgumentException("context full: " + start + " + " + T + " positions exceed capacity " + state.capacity());
        }
        if (state.rows < state.capacity() && T > SlidingWindow.MAX_BATCH) {
            forwardInChunks(state, x, T, asSteps); // a windowed ring holds the window plus one chunk
            return;
        }
        Scratch s = state.scratch;
        s.ensure(config, T);
        ropeTables(s, start, T);
        for (int l = state.firstLayer(); l < state.endLayer(); l++) {
            block(weights.layer(l), l, state, l - state.firstLayer(), s, x, T, start, asSteps);
        }
        state.advance(T);
    }

    private void forwardInChunks(SegmentState state, float[] x, int T, boolean asSteps) {
        int d = config.dim();
        float[] chunk = new float[SlidingWindow.MAX_BATCH * d];
        for (int from = 0; from < T; from += SlidingWindow.MAX_BATCH) {
            int n = Math.min(SlidingWindow.MAX_BATCH, T - from);
            System.arraycopy(x, from * d, chunk, 0, n * d);
            forward(state, chunk, n, asSteps);
            System.arraycopy(chunk, 0, x, from * d, n * d);
        }
    }

    private void block(LayerWeights w, int layer, SegmentState state, int li, Scratch s, float[] x, int T, int start,
                       boolean asSteps) {
        int d = config.dim(), kvDim = config.kvDim(), hidden = config.hiddenDim();
        // Attention.
        rmsnorm(s.xb, x, w.rmsAtt(), T, d);
        matmulInput(layer, ActivationQuantizer.Site.ATTN_QKV, s.xb, T, d);
        matmul3(s.xb, T, w.wq(), s.q, w.wk(), s.k, w.wv(), s.v, s.q8, asSteps);
        if (w.hasAttentionBias()) {
            addBias(s.q, w.bq(), T);
            addBias(s.k, w.bk(), T);
            addBias(s.v, w.bv(), T);
        }
        rope(s.q, d, s, T);
        rope(s.k, kvDim, s, T);
        state.store(li, s.k, s.v, start, T);
        attention(s, state.keys[li], state.values[li], state.rows, T, start);
        matmulInput(layer, ActivationQuantizer.Site.ATTN_OUT, s.att, T, d);
        matmul(s.att, T, w.wo(), s.xb, s.q8, asSteps);
        add(x, s.xb, T * d);
        // SwiGLU feed-forward.
        rmsnorm(s.xb, x, w.rmsFfn(), T, d);
        matmulInput(layer, ActivationQuantizer.Site.FFN_UP, s.xb, T, d);
        matmul2(s.xb, T, w.w1(), s.hb, w.w3(), s.hb2, s.q8, asSteps);
        float[] hb = s.hb, hb2 = s.hb2;
        for (int i = 0, n = T * hidden; i < n; i++) {
            float g = hb[i];
            hb[i] = g / (1.0f + (float) Math.exp(-g)) * hb2[i];
        }
        matmulInput(layer, ActivationQuantizer.Site.FFN_DOWN, hb, T, hidden);
        matmul(hb, T, w.w2(), s.xb, s.q8, asSteps);
        add(x, s.xb, T * d);
    }

    /**
     * Called with the rows {@code x[0, T*width)} about to be multiplied at {@code site} of block
     * {@code layer}; {@link HookedTransformer} overrides it. Nothing here: the plain forward.
     */
    protected void matmulInput(int layer, ActivationQuantizer.Site site, float[] x, int T, int width) {}

    /** Causal attention; with a sliding window only positions SlidingWindow.firstVisible.. are seen (ring rows p % rows). */
    private void attention(Scratch s, float[] kc, float[] vc, int rows, int T, int start) {
        int heads = config.nHeads(), hs = config.headSize(), kvDim = config.kvDim(), group = config.kvGroup();
        int d = config.dim();
        float invSqrt = (float) (1.0 / Math.sqrt(hs));
        float[] q = s.q, out = s.att;
        int pairs = (T + 1) / 2;
        // Queries two at a time (t, t+1 of one head): their scores come from 2 x 2 tiles that load
        // each key once for both, with dotF32's bits, so a prefill still equals decoding.
        team.run(pairs * heads, (from, to) -> {
            int stride = start + T;
            float[] scores = new float[2 * stride];
            for (int unit = from; unit < to; unit++) {
                int t = 2 * (unit / heads), h = unit % heads;
                int pos = start + t;
                int qOff = t * d + h * hs;
                int kvOff = (h / group) * hs;
                int lo = SlidingWindow.firstVisible(config, pos);
                if (t + 1 < T) {
                    attendTwo(q, qOff, d, kc, vc, kvOff, rows, lo, SlidingWindow.firstVisible(config, pos + 1), pos,
                            scores, stride, out, invSqrt);
                } else {
                    attendOne(q, qOff, kc, vc, kvOff, rows, lo, pos, scores, out, invSqrt);
                }
            }
        });
    }

    /**
     * One query head against cached positions [lo, pos] (ring rows p % rows): softmax of the scaled
     * scores, then the weighted sum of the values into out[qOff, qOff + headSize). Shared by the
     * single-state and the batched attention, so both give the same bits.
     */
    private void attendOne(float[] q, int qOff, float[] kc, float[] vc, int kvOff, int rows, int lo, int pos, float[] scores,
                           float[] out, float invSqrt) {
        int hs = config.headSize(), kvDim = config.kvDim();
        for (int p = lo; p <= pos; p++) {
            scores[p] = kernels.dotF32(q, qOff, kc, (p % rows) * kvDim + kvOff, hs) * invSqrt;
        }
        softmaxValues(scores, 0, vc, kvOff, rows, lo, pos, out, qOff);
    }

    /**
     * Two query rows of one head, at positions pos (from qA) and pos + 1 (qA + qStride), first
     * visible positions loA ≤ loB: the same bits as {@link #attendOne} for each, with the keys both
     * see in 2 x 2 tiles. Scores of the second query live at scores[stride + p].
     */
    private void attendTwo(float[] q, int qA, int qStride, float[] kc, float[] vc, int kvOff, int rows, int loA, int loB,
                           int pos, float[] scores, int stride, float[] out, float invSqrt) {
        int hs = config.headSize(), kvDim = config.kvDim(), qB = qA + qStride;
        for (int p = loA; p < loB; p++) { // seen by the first query only (sliding window)
            scores[p] = kernels.dotF32(q, qA, kc, (p % rows) * kvDim + kvOff, hs);
        }
        int p = loB;
        while (p <= pos) {
            int row = p % rows;
            if (p + 1 <= pos && row + 1 < rows) { // two keys in consecutive ring rows
                kernels.dot2x2F32(kc, row * kvDim + kvOff, kvDim, q, qA, qStride, hs, scores, p, 1, stride);
                p += 2;
            } else {
                scores[p] = kernels.dotF32(q, qA, kc, row * kvDim + kvOff, hs);
                scores[stride + p] = kernels.dotF32(q, qB, kc, row * kvDim + kvOff, hs);
                p++;
            }
        }
        scores[stride + pos + 1] = kernels.dotF32(q, qB, kc, ((pos + 1) % rows) * kvDim + kvOff, hs);
        for (int i = loA; i <= pos; i++) {
            scores[i] *= invSqrt;
        }
        for (int i = loB; i <= pos + 1; i++) {
            scores[stride + i] *= invSqrt;
        }
        softmaxValues(scores, 0, vc, kvOff, rows, loA, pos, out, qA);
        softmaxValues(scores, stride, vc, kvOff, rows, loB, pos + 1, out, qB);
    }

    /** Softmax of the scaled scores[at + lo .. at + pos] (overwritten), then the weighted values into out[qOff ..). */
    private void softmaxValues(float[] scores, int at, float[] vc, int kvOff, int rows, int lo, int pos, float[] out, int qOff) {
        int hs = config.headSize(), kvDim = config.kvDim();
        float max = Float.NEGATIVE_INFINITY;
        for (int p = lo; p <= pos; p++) {
            float sc = scores[at + p];
            if (sc > max) max = sc;
        }
        float sum = 0;
        for (int p = lo; p <= pos; p++) {
            float e = (float) Math.exp(scores[at + p] - max);
            scores[at + p] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
        java.util.Arrays.fill(out, qOff, qOff + hs, 0f);
        for (int p = lo; p <= pos; p++) {
            kernels.axpy(scores[at + p] * inv, vc, (p % rows) * kvDim + kvOff, out, qOff, hs);
        }
    }

    /** Final RMSNorm and classifier for row {@code row} of x, into out (vocab floats). */
    public final void logits(float[] x, int row, float[] out) {
        logits(x, row, 1, out);
    }

    /** Logits for rows [row, row+count) of x into out (count x vocab). */
    public final void logits(float[] x, int row, int count, float[] out) {
        WeightMatrix cls = weights.classifier();
        if (cls == null) {
            throw new IllegalStateException("this model slice has no classifier head");
        }
        int d = config.dim();
        float[] normed = new float[count * d];
        float[] src = new float[count * d];
        System.arraycopy(x, row * d, src, 0, count * d);
        rmsnorm(normed, src, weights.rmsFinal(), count, d);
        matmul(normed, count, cls, out, new Q8Activations(), false);
    }

    /** Logits of the last of T rows, as a new array. */
    public final float[] lastLogits(float[] x, int T) {
        float[] out = new float[config.vocabSize()];
        logits(x, T - 1, out);
        return out;
    }

    // ---- several states in one forward (continuous batching) ---------------------------------

    /** Work buffers of {@link #forwardBatch} and {@link #logitsRows}, reused call after call; one per calling thread. */
    public static final class BatchBuffers {
        final Scratch scratch = new Scratch();
        int[] groupOf = new int[0];
        int[] offsets = new int[0];
        int[] active = new int[0];
        float[] normed = new float[0];
        final Q8Activations q8 = new Q8Activations();
        int[] ones = new int[0];
        int[] seq = new int[0];
        /** Per group of the current forwardBatch: its rows meet the one-token kernels (null: none). */
        boolean[] asSteps;

        void ensure(int groups, int rows) {
            if (offsets.length < groups + 1) offsets = new int[groups + 1];
            if (groupOf.length < rows) groupOf = new int[rows];
        }
    }

    /**
     * One forward over the rows of several states at once: state g takes counts[g] rows of x
     * (concatenated in state order, each state's rows at its own next positions). Every matmul
     * runs over all rows together, so each weight row is streamed once per call instead of once
     * per state; attention runs per row against its own state's cache. States must be distinct,
     * share the end layer and be sorted by first layer (ascending): at block l the rows of the
     * states that start at or before l are then a prefix. Each row gives exactly the bits that
     * {@link #forward} gives it with its state alone and the same T (see {@link #rows}).
     */
    public final void forwardBatch(SegmentState[] states, int[] counts, int n, float[] x, BatchBuffers buf) {
        forwardBatch(states, counts, null, n, x, buf);
    }

    /**
     * As above; where {@code asSteps[g]} is true, the rows of state g get the bits that successive
     * one-token forwards give them (as {@link #forwardAsSteps}): drafted rows being verified.
     */
    public final void forwardBatch(SegmentState[] states, int[] counts, boolean[] asSteps, int n, float[] x, BatchBuffers buf) {
        if (n <= 0) throw new IllegalArgumentException("empty batch");
        buf.asSteps = asSteps;
        int d = config.dim(), end = states[0].endLayer();
        buf.ensure(n, 0);
        int[] off = buf.offsets;
        int R = 0;
        for (int g = 0; g < n; g++) {
            SegmentState st = states[g];
            int T = counts[g];
            if (T <= 0) throw new IllegalArgumentException("state " + g + " has no rows");
            if (st.endLayer() != end) throw new IllegalArgumentException("batched states must share the end layer");
            if (g > 0 && st.firstLayer() < states[g - 1].firstLayer()) {
                throw new IllegalArgumentException("batched states must be sorted by first layer");
            }
            for (int h = 0; h < g; h++) {
                if (states[h] == st) throw new IllegalArgumentException("a state appears twice in one batch");
            }
            if (st.length() + T > st.capacity()) {
                throw new IllegalArgumentException("context full: " + st.length() + " + " + T + " positions exceed capacity " + st.capacity());
            }
            if (st.rows < st.capacity() && T > SlidingWindow.MAX_BATCH) {
                throw new IllegalArgumentException("a sliding-window state takes at most " + SlidingWindow.MAX_BATCH + " rows per call");
            }
            off[g] = R;
            R += T;
        }
        off[n] = R;
        if (x.length < R * d) throw new IllegalArgumentException("hidden state holds " + x.length + " floats, need " + R + " x " + d);
        buf.ensure(n, R);
        Scratch s = buf.scratch;
        s.ensure(config, R);
        for (int g = 0; g < n; g++) {
            rope.fill(s.cos, s.sin, off[g], states[g].length(), counts[g]);
            for (int r = off[g]; r < off[g + 1]; r++) buf.groupOf[r] = g;
        }
        int first = states[0].firstLayer();
        int active = 0; // states [0, active) run block l
        for (int l = first; l < end; l++) {
            while (active < n && states[active].firstLayer() <= l) active++;
            blockBatch(weights.layer(l), l, states, counts, active, buf, x, off[active]);
        }
        for (int g = 0; g < n; g++) states[g].advance(counts[g]);
    }

    private void blockBatch(LayerWeights w, int layer, SegmentState[] st, int[] counts, int n, BatchBuffers buf, float[] x, int R) {
        int d = config.dim(), hidden = config.hiddenDim();
        int[] off = buf.offsets;
        Scratch s = buf.scratch;
        rmsnorm(s.xb, x, w.rmsAtt(), R, d);
        matmulInput(layer, ActivationQuantizer.Site.ATTN_QKV, s.xb, R, d);
        Q8Activations q8 = quantizeFor(s.q8, s.xb, R, w.wq(), w.wk(), w.wv());
        WeightMatrix wq = w.wq(), wk = w.wk(), wv = w.wv();
        int ra = wq.rows(), rb = wk.rows();
        float[] xb = s.xb;
        team.run(ra + rb + wv.rows(), (from, to) -> {
            if (from < ra) panels(wq, xb, q8, counts, off, n, s.q, from, Math.min(to, ra), buf.asSteps);
            int f = Math.max(from, ra) - ra, e = Math.min(to, ra + rb) - ra;
            if (f < e) panels(wk, xb, q8, counts, off, n, s.k, f, e, buf.asSteps);
            if (to > ra + rb) panels(wv, xb, q8, counts, off, n, s.v, Math.max(from, ra + rb) - ra - rb, to - ra - rb, buf.asSteps);
        });
        if (w.hasAttentionBias()) {
            addBias(s.q, w.bq(), R);
            addBias(s.k, w.bk(), R);
            addBias(s.v, w.bv(), R);
        }
        rope(s.q, d, s, R);
        rope(s.k, config.kvDim(), s, R);
        for (int g = 0; g < n; g++) {
            st[g].store(layer - st[g].firstLayer(), s.k, s.v, off[g], st[g].length(), counts[g]);
        }
        attentionBatch(s, st, layer, buf, R);
        matmulInput(layer, ActivationQuantizer.Site.ATTN_OUT, s.att, R, d);
        matmulGroups(s.att, R, w.wo(), s.xb, s.q8, counts, n, off, buf.asSteps);
        add(x, s.xb, R * d);
        rmsnorm(s.xb, x, w.rmsFfn(), R, d);
        matmulInput(layer, ActivationQuantizer.Site.FFN_UP, s.xb, R, d);
        Q8Activations q8u = quantizeFor(s.q8, s.xb, R, w.w1(), w.w3());
        WeightMatrix w1 = w.w1(), w3 = w.w3();
        int r1 = w1.rows();
        team.run(r1 + w3.rows(), (from, to) -> {
            if (from < r1) panels(w1, xb, q8u, counts, off, n, s.hb, from, Math.min(to, r1), buf.asSteps);
            if (to > r1) panels(w3, xb, q8u, counts, off, n, s.hb2, Math.max(from, r1) - r1, to - r1, buf.asSteps);
        });
        float[] hb = s.hb, hb2 = s.hb2;
        for (int i = 0, m = R * hidden; i < m; i++) {
            float g = hb[i];
            hb[i] = g / (1.0f + (float) Math.exp(-g)) * hb2[i];
        }
        matmulInput(layer, ActivationQuantizer.Site.FFN_DOWN, hb, R, hidden);
        matmulGroups(hb, R, w.w2(), s.xb, s.q8, counts, n, off, buf.asSteps);
        add(x, s.xb, R * d);
    }

    /** out = x W^T for R rows made of n groups (group g: rows [off[g], off[g]+counts[g])), each with the kernel its own T picks. */
    private void matmulGroups(float[] x, int R, WeightMatrix w, float[] out, Q8Activations buf, int[] counts, int n, int[] off,
                              boolean[] asSteps) {
        Q8Activations q8 = quantizeFor(buf, x, R, w);
        team.run(w.rows(), (from, to) -> panels(w, x, q8, counts, off, n, out, from, to, asSteps));
    }

    /** Weight rows per batch panel: a multiple of ROW_PANEL (and of the multi-row kernels' rows), so rows meet the kernels they meet alone. */
    private static final int BATCH_PANEL = Kernels.PANEL_ROWS;

    /**
     * Weight rows [from, to) against every group's rows, a panel of weight rows at a time: the
     * panel stays in cache while all groups pass by, so the weights are read from memory once per
     * batch. Panels start at from + k * BATCH_PANEL, so each row meets the kernels it meets alone.
     */
    private void panels(WeightMatrix w, float[] x, Q8Activations q8, int[] counts, int[] off, int n, float[] out, int from, int to,
                        boolean[] asSteps) {
        for (int p0 = from; p0 < to; p0 += BATCH_PANEL) {
            int p1 = Math.min(to, p0 + BATCH_PANEL);
            for (int g = 0; g < n; g++) rows(w, x, q8, off[g], counts[g], out, p0, p1, asSteps != null && asSteps[g]);
        }
    }

    /** Causal attention of every row of a batch against its own state's cache (block {@code layer}). */
    private void attentionBatch(Scratch s, SegmentState[] st, int layer, BatchBuffers buf, int R) {
        int heads = config.nHeads(), hs = config.headSize(), kvDim = config.kvDim(), group = config.kvGroup();
        int d = config.dim();
        float invSqrt = (float) (1.0 / Math.sqrt(hs));
        float[] q = s.q, out = s.att;
        int[] groupOf = buf.groupOf, off = buf.offsets;
        team.run(R * heads, (from, to) -> {
            float[] scores = null;
            for (int unit = from; unit < to; unit++) {
                int t = unit / heads, h = unit % heads;
                SegmentState state = st[groupOf[t]];
                int li = layer - state.firstLayer(), rows = state.rows;
                float[] kc = state.keys[li], vc = state.values[li];
                int pos = state.length() + t - off[groupOf[t]];
                if (scores == null || scores.length <= pos) scores = new float[pos + 1];
                int qOff = t * d + h * hs;
                int kvOff = (h / group) * hs;
                int lo = SlidingWindow.firstVisible(config, pos);
                attendOne(q, qOff, kc, vc, kvOff, rows, lo, pos, scores, out, invSqrt);
            }
        });
    }

    /**
     * Logits of n rows of x (rows[i] is a row index) into out (n x vocab), in one pass over the
     * classifier; each row gives the bits {@link #logits(float[], int, float[])} gives it.
     */
    public final void logitsRows(float[] x, int[] rows, int n, float[] out, BatchBuffers buf) {
        WeightMatrix cls = weights.classifier();
        if (cls == null) {
            throw new IllegalStateException("this model slice has no classifier head");
        }
        int d = config.dim();
        if (buf.normed.length < n * d) buf.normed = new float[n * d];
        if (buf.ones.length < n) {
            buf.ones = new int[n];
            buf.seq = new int[n];
            for (int i = 0; i < n; i++) {
                buf.ones[i] = 1;
                buf.seq[i] = i;
            }
        }
        float[] normed = buf.normed;
        float eps = config.normEps();
        float[] weight = weights.rmsFinal();
        for (int i = 0; i < n; i++) {
            // rmsnorm of one row, written out so the source row need not be copied first
            int src = rows[i] * d, dst = i * d;
            float ss = 0;
            for (int j = 0; j < d; j++) ss += x[src + j] * x[src + j];
            float inv = (float) (1.0 / Math.sqrt(ss / d + eps));
            for (int j = 0; j < d; j++) normed[dst + j] = weight[j] * (inv * x[src + j]);
        }
        matmulGroups(normed, n, cls, out, buf.q8, buf.ones, n, buf.seq, null);
    }

    // ---- building blocks -------------------------------------------------------------------

    private void rmsnorm(float[] out, float[] x, float[] weight, int T, int d) {
        float eps = config.normEps();
        for (int t = 0; t < T; t++) {
            int off = t * d;
            float ss = 0;
            for (int i = 0; i < d; i++) {
                ss += x[off + i] * x[off + i];
            }
            float inv = (float) (1.0 / Math.sqrt(ss / d + eps));
            for (int i = 0; i < d; i++) {
                out[off + i] = weight[i] * (inv * x[off + i]);
            }
        }
    }

    private void ropeTables(Scratch s, int start, int T) {
        rope.fill(s.cos, s.sin, start, T);
    }

    /** Rotates consecutive pairs (i, i+1) of every head in each of T rows of width {@code width}. */
    private void rope(float[] v, int width, Scratch s, int T) {
        int hs = config.headSize(), half = hs / 2;
        for (int t = 0; t < T; t++) {
            int row = t * width, tab = t * half;
            for (int i = 0; i < width; i += 2) {
                int j = (i % hs) >> 1;
                float c = s.cos[tab + j], sn = s.sin[tab + j];
                float v0 = v[row + i], v1 = v[row + i + 1];
                v[row + i] = v0 * c - v1 * sn;
                v[row + i + 1] = v0 * sn + v1 * c;
            }
        }
    }

    /** Adds bias (one row's width) to each of T rows of v. */
    private static void addBias(float[] v, float[] bias, int T) {
        int w = bias.length;
        for (int t = 0; t < T; t++) {
            int off = t * w;
            for (int i = 0; i < w; i++) {
                v[off + i] += bias[i];
            }
        }
    }

    private static void add(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            x[i] += y[i];
        }
    }

    /**
     * Activation rows quantized to 8 bits once for a matmul whose weights take them
     * ({@link WeightMatrix#takesQ8}), or null: every output row then reuses the same codes.
     */
    private Q8Activations quantizeFor(Q8Activations buf, float[] x, int T, WeightMatrix... ws) {
        for (WeightMatrix w : ws) {
            if (w.takesQ8(kernels)) {
                return buf.quantize(x, T, w.cols());
            }
        }
        return null;
    }

    /** out[t*rows + r] = W[r] . x[t*cols ..] for all T rows of x, parallel over output rows. */
    private void matmul(float[] x, int T, WeightMatrix w, float[] out, Q8Activations buf, boolean asSteps) {
        Q8Activations q8 = quantizeFor(buf, x, T, w);
        team.run(w.rows(), (from, to) -> rows(w, x, q8, 0, T, out, from, to, asSteps));
    }

    private void matmul2(float[] x, int T, WeightMatrix a, float[] outA, WeightMatrix b, float[] outB, Q8Activations buf,
                         boolean asSteps) {
        Q8Activations q8 = quantizeFor(buf, x, T, a, b);
        int ra = a.rows();
        team.run(ra + b.rows(), (from, to) -> {
            if (from < ra) rows(a, x, q8, 0, T, outA, from, Math.min(to, ra), asSteps);
            if (to > ra) rows(b, x, q8, 0, T, outB, Math.max(from, ra) - ra, to - ra, asSteps);
        });
    }

    private void matmul3(float[] x, int T, WeightMatrix a, float[] outA, WeightMatrix b, float[] outB,
                         WeightMatrix c, float[] outC, Q8Activations buf, boolean asSteps) {
        Q8Activations q8 = quantizeFor(buf, x, T, a, b, c);
        int ra = a.rows(), rb = b.rows();
        team.run(ra + rb + c.rows(), (from, to) -> {
            if (from < ra) rows(a, x, q8, 0, T, outA, from, Math.min(to, ra), asSteps);
            int f = Math.max(from, ra) - ra, e = Math.min(to, ra + rb) - ra;
            if (f < e) rows(b, x, q8, 0, T, outB, f, e, asSteps);
            if (to > ra + rb) rows(c, x, q8, 0, T, outC, Math.max(from, ra + rb) - ra - rb, to - ra - rb, asSteps);
        });
    }

    /**
     * A batch against F32 weights in 2 x 2 tiles ({@link Kernels#dot2x2F32}), which give each
     * product exactly {@link Kernels#dotF32}'s bits: an F32 prefill then equals decoding token by
     * token bit for bit, which lossless evaluation and replay compare against. Panels of
     * {@link #ROW_PANEL} rows are read in place (no decode) while every token passes by.
     */
    private void f32Tiles(F32Matrix w, float[] x, int t0, int T, float[] out, int from, int to) {
        Kernels k = kernels;
        float[] a = w.data();
        int base = w.offset(), rows = w.rows(), cols = w.cols(), tEnd = t0 + T;
        for (int r0 = from; r0 < to; r0 += ROW_PANEL) {
            int r1 = Math.min(to, r0 + ROW_PANEL);
            int t = t0;
            for (; t + 1 < tEnd; t += 2) {
                int xOff = t * cols, o = t * rows, r = r0;
                for (; r + 1 < r1; r += 2) {
                    k.dot2x2F32(a, base + r * cols, cols, x, xOff, cols, cols, out, o + r, 1, rows);
                }
                for (; r < r1; r++) {
                    out[o + r] = k.dotF32(a, base + r * cols, x, xOff, cols);
                    out[o + rows + r] = k.dotF32(a, base + r * cols, x, xOff + cols, cols);
                }
            }
            for (; t < tEnd; t++) {
                for (int r = r0; r < r1; r++) {
                    out[t * rows + r] = k.dotF32(a, base + r * cols, x, t * cols, cols);
                }
            }
        }
    }

    /**
     * A batch against quantized weights: {@link Kernels#PANEL_ROWS} rows at a time are decoded once
     * (exactly the values readRow gives) into a k-major panel, then four tokens at a time run
     * {@link Kernels#panel32}, each row in its own lane: no horizontal sums, and every product
     * accumulated in increasing k, so a token's result does not depend on which rows or tokens
     * shared its panel. A last panel of fewer rows is padded with zero rows.
     */
    private void transposedPanels(WeightMatrix w, float[] x, int t0, int T, float[] out, int from, int to) {
        Kernels k = kernels;
        final int p = Kernels.PANEL_ROWS;
        int rows = w.rows(), cols = w.cols(), tEnd = t0 + T;
        float[] panel = new float[p * cols], row = new float[cols], part = new float[4 * p];
        for (int r0 = from; r0 < to; r0 += p) {
            int n = Math.min(p, to - r0);
            for (int i = 0; i < n; i++) {
                w.readRowStrided(r0 + i, panel, i, p, row);
            }
            if (n < p) {
                for (int c = 0; c < cols; c++) {
                    java.util.Arrays.fill(panel, c * p + n, c * p + p, 0f);
                }
            }
            for (int t = t0; t < tEnd; t += 4) {
                int nt = Math.min(4, tEnd - t);
                if (n == p) {
                    k.panel32(panel, x, t * cols, cols, cols, nt, out, t * rows + r0, rows);
                } else {
                    k.panel32(panel, x, t * cols, cols, cols, nt, part, 0, p);
                    for (int j = 0; j < nt; j++) {
                        System.arraycopy(part, j * p, out, (t + j) * rows + r0, n);
                    }
                }
            }
        }
    }

    /** Weight rows per prefill panel: a panel stays in L1 while every token's activations pass by. */
    private static final int ROW_PANEL = 8;

    /**
     * Activation rows [t0, t0+T) of x. The kernel choice depends on T only, so a row gives the
     * same bits whatever other rows share the call ({@link #forwardBatch} relies on it). With
     * {@code asSteps} every row meets the one-token kernels (see {@link #forwardAsSteps}).
     */
    private void rows(WeightMatrix w, float[] x, Q8Activations q8, int t0, int T, float[] out, int from, int to,
                      boolean asSteps) {
        Kernels k = kernels;
        if (T == 1) {
            w.dotRows(k, from, to, x, q8, t0, out, t0 * w.rows() + from);
            return;
        }
        // Batched (prefill): cache-blocked matrix-matrix products, a panel of weight rows against
        // all T activation rows, each panel read from memory once per batch: F32 in 2 x 2 tiles with
        // the one-token kernel's bits; other formats decoded once per panel into a k-major panel
        // (transposedPanels). Short batches, replays as steps and Q8 activations take the
        // one-token kernels row panel by row panel.
        int rows = w.rows(), cols = w.cols();
        if (w instanceof F32Matrix && !asSteps && q8 == null) {
            f32Tiles((F32Matrix) w, x, t0, T, out, from, to);
            return;
        }
        if (!asSteps && q8 == null && T >= 4) {
            transposedPanels(w, x, t0, T, out, from, to);
            return;
        }
        for (int r0 = from; r0 < to; r0 += ROW_PANEL) {
            int r1 = Math.min(to, r0 + ROW_PANEL);
            for (int t = t0; t < t0 + T; t++) {
                w.dotRows(k, r0, r1, x, q8, t, out, t * rows + r0);
            }
        }
    }
}
