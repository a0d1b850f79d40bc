package dev.splitllm.eval;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.sample.Sampler;
import java.util.Arrays;

/**
 * The one teacher-forced quality meter, used by {@code eval}, {@code calibrate} and the
 * optimizer alike. It measures a split configuration against the unsplit fp32 model on a
 * {@link Reference} sequence. The split path is the runtime's: the edge runs blocks [0, l) with
 * its own state, the hidden state crosses the {@link Wire} (for the codec: {@link CodecWire},
 * the session codec's real bytes, encoded and decoded), and the cloud runs blocks [l, L) with
 * its own state, so its KV cache is built from the decoded hidden states. The sequence's prompt
 * travels as ONE prefill frame, every later position as its own ONE-token decode frame.
 *
 * <p>Figures ({@link #measure}), one definition for every caller: top-1 agreement with the fp32
 * argmax and mean KL(fp32 || split) at the scored positions; the perplexity of the sequence's
 * actual next tokens under both models (ΔPPL = split minus fp32); the free-running greedy prefix
 * match, which equals the number of scored positions before the first disagreement (until then
 * the split model has been fed exactly the fp32 tokens, so its states are the teacher-forced
 * ones); bits per element of the prefill and of the decode frames ({@link BitsTally}).
 *
 * <p>Sequences: {@link #reference(int[], int)} is the fp32 model's greedy continuation of a
 * prompt (scored at the generated positions); {@link #text(int[], int)} is a given text with a
 * chosen prompt length (scored at every position that has a next token; a text window for
 * perplexity is a text whose prompt is the whole window).
 *
 * <p>Batching: by default the cloud runs all decoded rows of a sequence in one forward and the
 * classifier scores all positions at once. The engine computes each row with the same
 * operations whether it runs alone or in a batch (tested), so this gives the same numbers as
 * the step-by-step loop ({@code stepwise = true}), which is kept for that test. Frames are always
 * encoded one by one, as the runtime sends them.
 */
public final class SplitEvaluator {
    /** Longest continuation {@link #reference} generates. */
    public static final int MAX_GENERATED = 1024;

    private final Transformer fp32;
    private final LlamaConfig config;
    private final int eos;
    private boolean stepwise;

    // One-entry cache of the edge output: configurations are usually evaluated variant by variant.
    private Transformer cachedEdge;
    private int cachedSplit = -1;
    private int[] cachedTokens;
    private float[] cachedHidden;

    /**
     * @param fp32 the unsplit fp32 model, the reference for every metric
     * @param eos  the end-of-sequence id that ends a greedy continuation (the tokenizer's), or -1 for none
     */
    public SplitEvaluator(Transformer fp32, int eos) {
        this.fp32 = fp32;
        this.config = fp32.config();
        this.eos = eos;
        if (fp32.weights().tokenEmbedding() == null || fp32.weights().classifier() == null
                || fp32.weights().slice().layerCount() != config.nLayers()) {
            throw new IllegalArgumentException("the reference must be the full model (embedding, every block, head)");
        }
    }

    /** Run the cloud one frame at a time and score each position alone (slow; for equivalence tests). */
    public SplitEvaluator stepwise(boolean on) {
        this.stepwise = on;
        return this;
    }

    public LlamaConfig config() {
        return config;
    }

    /**
     * The fp32 model's greedy continuation of {@code prompt} (which must start with BOS if the
     * caller wants one) for up to {@code n} tokens, stopping after EOS, with its logits. Measured,
     * the prompt is the prefill frame and each generated token but the last a decode frame; the
     * scored positions are the generated ones.
     */
    public Reference reference(int[] prompt, int n) {
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("prompt is empty");
        }
        if (n < 1 || n > MAX_GENERATED) {
            throw new IllegalArgumentException("tokens to generate must be in 1.." + MAX_GENERATED + ", got " + n);
        }
        if (prompt.length + n - 1 > config.seqLen()) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens plus " + n
                    + " generated exceeds the context of " + config.seqLen());
        }
        checkIds(prompt);
        int vocab = config.vocabSize();
        SegmentState st = fp32.newState(prompt.length + n - 1);
        float[] x = fp32.embed(prompt);
        fp32.forward(st, x, prompt.length);
        float[] logits = fp32.lastLogits(x, prompt.length);
        int[] gen = new int[n];
        float[] lp = new float[n * vocab]; // raw fp32 logits
        int count = 0;
        while (true) {
            int next = Sampler.argmax(logits);
            System.arraycopy(logits, 0, lp, count * vocab, vocab);
            gen[count++] = next;
            if (count == n || next == eos) {
                break;
            }
            float[] h = fp32.embed(new int[] {next});
            fp32.forward(st, h, 1);
            logits = fp32.lastLogits(h, 1);
        }
        gen = Arrays.copyOf(gen, count);
        int[] seq = new int[prompt.length + count - 1];
        System.arraycopy(prompt, 0, seq, 0, prompt.length);
        System.arraycopy(gen, 0, seq, prompt.length, count - 1);
        // The continuation is the fp32 argmax at every scored position.
        return new Reference(seq, prompt.length, prompt.length - 1, gen, gen, Arrays.copyOf(lp, count * vocab), vocab);
    }

    /**
     * A given text as a measured sequence: its first {@code prompt} tokens are the prefill frame,
     * each later token a decode frame; every position that has a next token in the text is scored.
     * A text window for perplexity is {@code text(window, window.length)}.
     */
    public Reference text(int[] tokens, int prompt) {
        checkWindow(tokens);
        if (prompt < 1 || prompt > tokens.length) {
            throw new IllegalArgumentException("prompt length must be in 1.." + tokens.length + ", got " + prompt);
        }
        checkIds(tokens);
        int scored = tokens.length - 1, vocab = config.vocabSize();
        SegmentState st = fp32.newState(tokens.length);
        float[] x = fp32.embed(tokens);
        fp32.forward(st, x, tokens.length);
        float[] logits = new float[scored * vocab];
        fp32.logits(x, 0, scored, logits);
        int[] arg = new int[scored];
        for (int i = 0; i < scored; i++) {
            arg[i] = argmax(logits, i * vocab, vocab);
        }
        return new Reference(tokens, prompt, 0, Arrays.copyOfRange(tokens, 1, tokens.length), arg, logits, vocab);
    }

    /**
     * Measures {@code cfg} on one sequence: adds every scored position's agreement and KL, the
     * sequence's greedy prefix and next-token NLL (split and fp32) to {@code stats}, and the
     * frames' bits to {@code tally}.
     */
    public void measure(SplitConfig cfg, Reference ref, QualityStats stats, BitsTally tally) {
        if (ref.vocab() != config.vocabSize()) {
            throw new IllegalArgumentException("the reference was made with another vocabulary");
        }
        int n = ref.length(), vocab = config.vocabSize();
        float[] logits = splitLogits(cfg, ref.tokens(), ref.prefill(), ref.from(), n, tally);
        float[] ref32 = ref.logits();
        double[] lp = new double[vocab];
        double[] lq = new double[vocab];
        int prefix = -1;
        double splitNll = 0, fp32Nll = 0;
        for (int i = 0; i < n; i++) {
            int off = i * vocab;
            boolean agrees = argmax(logits, off, vocab) == ref.fp32ArgmaxAt(i);
            if (!agrees && prefix < 0) {
                prefix = i;
            }
            logSoftmax(ref32, off, vocab, lp);
            logSoftmax(logits, off, vocab, lq);
            double kl = 0;
            for (int v = 0; v < vocab; v++) {
                double a = lp[v];
                kl += Math.exp(a) * (a - lq[v]);
            }
            stats.addPosition(agrees, Math.max(0.0, kl));
            splitNll -= lq[ref.nextAt(i)];
            fp32Nll -= lp[ref.nextAt(i)];
        }
        stats.addSequence(prefix < 0 ? n : prefix, n, splitNll, fp32Nll);
    }

    /** Adds the unsplit fp32 model's NLL of {@code window[1..]} given its prefix (window[0] is normally BOS). */
    public void perplexity(int[] window, PerplexityStats stats) {
        perplexity(text(window, window.length), stats);
    }

    /** Adds the unsplit fp32 model's NLL of {@code ref}'s next tokens at its scored positions. */
    public void perplexity(Reference ref, PerplexityStats stats) {
        int vocab = config.vocabSize();
        double[] lp = new double[vocab];
        double nll = 0;
        for (int i = 0; i < ref.length(); i++) {
            logSoftmax(ref.logits(), i * vocab, vocab, lp);
            nll -= lp[ref.nextAt(i)];
        }
        stats.add(nll, ref.length());
    }

    /**
     * The cut's hidden states (output of blocks [0, split)) of {@code tokens} under {@code variant},
     * computed in one batch from position 0: what the edge sends.
     */
    public float[] edgeHidden(ModelVariant variant, int split, int[] tokens) {
        Transformer tf = variant.transformer();
        if (tf == cachedEdge && split == cachedSplit && Arrays.equals(tokens, cachedTokens)) {
            return cachedHidden;
        }
        float[] x = tf.embed(tokens);
        if (split > 0) {
            SegmentState edge = tf.newState(0, split, tokens.length);
            tf.forward(edge, x, tokens.length);
        }
        cachedEdge = tf;
        cachedSplit = split;
        cachedTokens = tokens.clone();
        cachedHidden = x;
        return x;
    }

    /**
     * Runs the split path over {@code seq}: rows [0, prefill) as one prefill frame, every later
     * row as a decode frame; returns the logits of rows [from, from+count).
     */
    private float[] splitLogits(SplitConfig cfg, int[] seq, int prefill, int from, int count, BitsTally tally) {
        Transformer tf = cfg.variant().transformer();
        int d = config.dim(), vocab = config.vocabSize(), total = seq.length, l = cfg.split(), layers = config.nLayers();
        float[] hidden = edgeHidden(cfg.variant(), l, seq);
        Wire.Session session = cfg.wire().open(tally);
        float[] received = new float[total * d];
        float[] first = session.transmit(Arrays.copyOf(hidden, prefill * d), prefill, d, true);
        System.arraycopy(first, 0, received, 0, prefill * d);
        float[] row = new float[d];
        for (int t = prefill; t < total; t++) {
            System.arraycopy(hidden, t * d, row, 0, d);
            System.arraycopy(session.transmit(row, 1, d, false), 0, received, t * d, d);
        }
        float[] logits = new float[count * vocab];
        if (!stepwise) {
            if (l < layers) {
                SegmentState cloud = tf.newState(l, layers, total);
                tf.forward(cloud, received, total);
            }
            tf.logits(received, from, count, logits);
            return logits;
        }
        SegmentState cloud = l < layers ? tf.newState(l, layers, total) : null;
        float[] one = new float[vocab];
        for (int t = 0; t < total; ) {
            int span = t == 0 ? prefill : 1;
            float[] frame = Arrays.copyOfRange(received, t * d, (t + span) * d);
            if (cloud != null) {
                tf.forward(cloud, frame, span);
            }
            for (int r = 0; r < span; r++) {
                int pos = t + r;
                if (pos >= from && pos < from + count) {
                    tf.logits(frame, r, one);
                    System.arraycopy(one, 0, logits, (pos - from) * vocab, vocab);
                }
            }
            t += span;
        }
        return logits;
    }

    private void checkWindow(int[] window) {
        if (window == null || window.length < 2 || window.length > config.seqLen()) {
            throw new IllegalArgumentException("a text window needs 2.." + config.seqLen() + " tokens, got "
                    + (window == null ? 0 : window.length));
        }
    }

    private void checkIds(int[] tokens) {
        for (int t : tokens) {
            if (t < 0 || t >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " outside the vocabulary of " + config.vocabSize());
            }
        }
    }

    static int argmax(float[] a, int off, int n) {
        int best = 0;
        float bv = a[off];
        for (int i = 1; i < n; i++) {
            if (a[off + i] > bv) {
                bv = a[off + i];
                best = i;
            }
        }
        return best;
    }

    /** Log-probabilities of {@code logits[off, off+n)} in double precision (the meter's one definition, shared by its studies). */
    static void logSoftmax(float[] logits, int off, int n, double[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double z = 0;
        for (int i = 0; i < n; i++) {
            z += Math.exp(logits[off + i] - max);
        }
        double lz = max + Math.log(z);
        for (int i = 0; i < n; i++) {
            out[i] = logits[off + i] - lz;
        }
    }
}
