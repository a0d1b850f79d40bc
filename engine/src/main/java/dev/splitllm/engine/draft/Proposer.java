package dev.splitllm.engine.draft;

/**
 * Turns a drafter's logits into the drafted token, on the edge. Greedy sessions draft the argmax.
 * Sampling sessions draft from a proposal: the drafter's softmax at the session's temperature cut
 * to its {@code width} most likely tokens and renormalised, drawn with the edge's own seeded
 * generator; the proposal travels with the draft so that the cloud can resample exactly after a
 * rejection ({@link DraftVerifier}). Not thread-safe.
 */
public final class Proposer {
    private final float temperature;
    private final int width;
    /** The edge's own generator for drawing drafts (a sampler's xorshift*, never the cloud's). */
    private final dev.splitllm.engine.sample.Sampler generator;
    /** The last proposal (sampling): tokens, drafted one first, and their probabilities. */
    private int[] ids = new int[0];
    private float[] probs = new float[0];

    /**
     * @param temperature the session's temperature (0: greedy)
     * @param width       proposal entries, 1..{@link dev.splitllm.quantization.wire.Draft#MAX_PROPOSAL}
     * @param seed        the edge's generator seed (independent of the cloud's sampler)
     */
    public Proposer(float temperature, int width, long seed) {
        if (width < 1 || width > dev.splitllm.quantization.wire.Draft.MAX_PROPOSAL) {
            throw new IllegalArgumentException("proposal width must be 1.." + dev.splitllm.quantization.wire.Draft.MAX_PROPOSAL);
        }
        this.temperature = temperature;
        this.width = width;
        this.generator = new dev.splitllm.engine.sample.Sampler(1f, 1f, seed);
    }

    public boolean sampling() {
        return temperature > 0f;
    }

    /** The drafted token for these logits; when sampling, {@link #proposalIds}/{@link #proposalProbs} describe its proposal. */
    public int propose(float[] logits) {
        if (!sampling()) {
            int best = 0;
            for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }
        // The width largest logits, by insertion into a short sorted list.
        int[] top = new int[width];
        int n = 0;
        for (int i = 0; i < logits.length; i++) {
            float v = logits[i];
            if (v == Float.NEGATIVE_INFINITY || Float.isNaN(v)) continue;
            if (n == width && v <= logits[top[n - 1]]) continue;
            int j = n < width ? n++ : n - 1;
            while (j > 0 && logits[top[j - 1]] < v) {
                top[j] = top[j - 1];
                j--;
            }
            top[j] = i;
        }
        if (n == 0) throw new IllegalArgumentException("the drafter scored no token");
        float max = logits[top[0]];
        double[] w = new double[n];
        double sum = 0;
        for (int j = 0; j < n; j++) {
            w[j] = Math.exp((logits[top[j]] - max) / temperature);
            sum += w[j];
        }
        float u = generator.uniform();
        int pick = n - 1;
        double cdf = 0;
        for (int j = 0; j < n; j++) {
            cdf += w[j] / sum;
            if (u < cdf) {
                pick = j;
                break;
            }
        }
        // Keep the entries with a probability that survives float rounding, drafted one first.
        int[] outIds = new int[n];
        float[] outP = new float[n];
        int m = 0;
        outIds[m] = top[pick];
        outP[m++] = (float) (w[pick] / sum);
        for (int j = 0; j < n; j++) {
            float pj = (float) (w[j] / sum);
            if (j == pick || !(pj > 0f)) continue;
            outIds[m] = top[j];
            outP[m++] = pj;
        }
        if (!(outP[0] > 0f)) outP[0] = Float.MIN_NORMAL; // a draw landed on an entry rounding to 0: keep it valid
        ids = java.util.Arrays.copyOf(outIds, m);
        probs = java.util.Arrays.copyOf(outP, m);
        return top[pick];
    }

    public int[] proposalIds() {
        return ids.clone();
    }

    public float[] proposalProbs() {
        return probs.clone();
    }
}
