package dev.splitllm.engine.sample;

import java.util.Arrays;

/**
 * Picks the next token from logits: greedy (temperature 0), or temperature sampling with
 * optional nucleus (top-p) truncation, driven by a seeded xorshift* generator (llama2.c's), so a
 * given seed gives the same tokens on every platform and on either side of a split.
 *
 * <p>Holds the generator state: one sampler per generation stream.
 */
public final class Sampler {
    private final float temperature;
    private final float topP;
    private long state;
    private float[] probs = new float[0];
    private int[] order = new int[0];

    /**
     * @param temperature 0 for greedy; otherwise &gt; 0
     * @param topP        nucleus mass in (0, 1]; 1 (or 0) disables truncation
     * @param seed        any value; 0 is mapped to a fixed non-zero state
     */
    public Sampler(float temperature, float topP, long seed) {
        if (!(temperature >= 0) || !Float.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (!(topP >= 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in [0, 1], got " + topP);
        }
        this.temperature = temperature;
        this.topP = topP;
        this.state = seed == 0 ? 0x9E3779B97F4A7C15L : seed;
    }

    public static Sampler greedy() {
        return new Sampler(0f, 1f, 1);
    }

    public float temperature() {
        return temperature;
    }

    public float topP() {
        return topP;
    }

    /** The generator state, so a replica can continue the same stream. */
    public long state() {
        return state;
    }

    public void restoreState(long s) {
        this.state = s;
    }

    /** Index of the largest logit (first on ties). */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) best = i;
        }
        return best;
    }

    /** Samples a token; does not modify {@code logits}. */
    public int sample(float[] logits) {
        if (temperature == 0f) {
            return argmax(logits);
        }
        softmax(logits);
        float coin = nextFloat();
        return topP <= 0 || topP >= 1 ? sampleMultinomial(coin) : sampleTopP(coin);
    }

    /** probs = softmax(logits / temperature), in the scratch array. */
    private void softmax(float[] logits) {
        int n = logits.length;
        if (probs.length != n) {
            probs = new float[n];
            order = new int[n];
        }
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float p = (float) Math.exp((logits[i] - max) / temperature);
            probs[i] = p;
            sum += p;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < n; i++) probs[i] *= inv;
    }

    /**
     * The nucleus of probs: the tokens sorted by probability (ties by id), of which the first
     * {@code last + 1} hold the top-p mass; null when no token passes the cutoff (a degenerate
     * distribution). Sets {@link #nucleusLast} and {@link #nucleusMass}.
     */
    private Integer[] nucleus() {
        int n = probs.length;
        // Tokens below (1 - topP) / (n - 1) cannot be in the nucleus: drop them before sorting.
        float cutoff = (1f - topP) / (n - 1);
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (probs[i] >= cutoff) order[m++] = i;
        }
        if (m == 0) return null;
        Integer[] boxed = new Integer[m];
        for (int i = 0; i < m; i++) boxed[i] = order[i];
        Arrays.sort(boxed, (a, b) -> {
            int c = Float.compare(probs[b], probs[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        float cumulative = 0;
        int last = m - 1;
        for (int i = 0; i < m; i++) {
            cumulative += probs[boxed[i]];
            if (cumulative > topP) {
                last = i;
                break;
            }
        }
        nucleusLast = last;
        nucleusMass = cumulative;
        return boxed;
    }

    private int nucleusLast;
    private float nucleusMass;

    /**
     * The distribution {@link #sample} draws from for these logits, into {@code out} (vocab floats):
     * the temperature softmax, cut to the nucleus and renormalised when top-p is on; one-hot on the
     * argmax when greedy. Speculative verification needs it to accept drafts exactly. Draws nothing.
     */
    public void distribution(float[] logits, float[] out) {
        int n = logits.length;
        java.util.Arrays.fill(out, 0, n, 0f);
        if (temperature == 0f) {
            out[argmax(logits)] = 1f;
            return;
        }
        softmax(logits);
        if (topP <= 0 || topP >= 1) {
            System.arraycopy(probs, 0, out, 0, n);
            return;
        }
        Integer[] sorted = nucleus();
        if (sorted == null) {
            out[argmaxOfProbs()] = 1f;
            return;
        }
        for (int i = 0; i <= nucleusLast; i++) out[sorted[i]] = probs[sorted[i]] / nucleusMass;
    }

    /**
     * Moves the generator past one step's draw without sampling: a speculative step consumes
     * exactly one draw of this stream (like a plain step), whatever it accepted, so a replay that
     * advances once per answered step stays in step. Greedy draws nothing.
     */
    public void advance() {
        if (temperature > 0f) nextFloat();
    }

    private int sampleMultinomial(float coin) {
        float cdf = 0;
        for (int i = 0; i < probs.length; i++) {
            cdf += probs[i];
            if (coin < cdf) return i;
        }
        return probs.length - 1; // rounding
    }

    private int sampleTopP(float coin) {
        Integer[] sorted = nucleus();
        if (sorted == null) {
            return argmaxOfProbs(); // degenerate distribution (e.g. NaN logits): nothing passes the cutoff
        }
        float r = coin * nucleusMass;
        float cdf = 0;
        for (int i = 0; i <= nucleusLast; i++) {
            cdf += probs[sorted[i]];
            if (r < cdf) return sorted[i];
        }
        return sorted[nucleusLast];
    }

    private int argmaxOfProbs() {
        int best = 0;
        for (int i = 1; i < probs.length; i++) {
            if (probs[i] > probs[best]) best = i;
        }
        return best;
    }

    /** One uniform draw in [0, 1) from this sampler's generator (the edge's drafter proposals use their own sampler's). */
    public float uniform() {
        return nextFloat();
    }

    /** xorshift* as in llama2.c: uniform in [0, 1). */
    private float nextFloat() {
        state ^= state >>> 12;
        state ^= state << 25;
        state ^= state >>> 27;
        int u32 = (int) ((state * 0x2545F4914F6CDD1DL) >>> 32);
        return (u32 >>> 8) / 16777216.0f;
    }
}
