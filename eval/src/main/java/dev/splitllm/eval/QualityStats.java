package dev.splitllm.eval;

/**
 * Accumulated figures of a split configuration against the unsplit fp32 model over measured
 * sequences ({@link SplitEvaluator#measure}): top-1 agreement with the fp32 argmax and mean
 * KL(fp32 || split) in nats at the scored positions, the perplexity of the sequences' actual
 * next tokens under both models (ΔPPL = split minus fp32), and the free-running greedy prefix
 * match (scored positions before the first disagreement). Not thread-safe.
 */
public final class QualityStats {
    private long positions, agreements, sequences, prefixSum, fullMatches;
    private double klSum;
    private double klMax;
    private final PerplexityStats split = new PerplexityStats();
    private final PerplexityStats fp32 = new PerplexityStats();

    void addPosition(boolean agrees, double kl) {
        positions++;
        if (agrees) {
            agreements++;
        }
        klSum += kl;
        klMax = Math.max(klMax, kl);
    }

    /** One sequence: its greedy prefix, its scored positions, and the summed NLL of its next tokens under both models. */
    void addSequence(int prefix, int length, double splitNll, double fp32Nll) {
        sequences++;
        prefixSum += prefix;
        if (prefix == length) {
            fullMatches++;
        }
        split.add(splitNll, length);
        fp32.add(fp32Nll, length);
    }

    /** Fraction of positions whose split argmax equals the fp32 argmax. */
    public double agreement() {
        return positions == 0 ? Double.NaN : (double) agreements / positions;
    }

    /** Mean KL(fp32 || split) per position, nats. */
    public double meanKl() {
        return positions == 0 ? Double.NaN : klSum / positions;
    }

    /** Largest KL at any position, nats. */
    public double maxKl() {
        return klMax;
    }

    /** Perplexity of the actual next tokens under the split configuration. */
    public PerplexityStats split() {
        return split;
    }

    /** The same under the unsplit fp32 model. */
    public PerplexityStats fp32() {
        return fp32;
    }

    /** Split perplexity minus fp32 perplexity. */
    public double deltaPerplexity() {
        return split.perplexity() - fp32.perplexity();
    }

    /** Mean length of the free-running greedy prefix that matches the fp32 continuation. */
    public double meanPrefix() {
        return sequences == 0 ? Double.NaN : (double) prefixSum / sequences;
    }

    /** Sequences whose whole continuation matched. */
    public long fullMatches() {
        return fullMatches;
    }

    public long positions() {
        return positions;
    }

    public long sequences() {
        return sequences;
    }
}
