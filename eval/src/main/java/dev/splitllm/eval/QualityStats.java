package dev.splitllm.eval;

/**
 * Accumulated agreement of a split configuration with the fp32 model over teacher-forced
 * sequences: top-1 agreement, mean KL(fp32 || split) in nats, and the free-running greedy
 * prefix match (generated tokens before the first disagreement). Not thread-safe.
 */
public final class QualityStats {
    private long positions, agreements, sequences, prefixSum, fullMatches;
    private double klSum;
    private double klMax;

    void addPosition(boolean agrees, double kl) {
        positions++;
        if (agrees) {
            agreements++;
        }
        klSum += kl;
        klMax = Math.max(klMax, kl);
    }

    void addSequence(int prefix, int length) {
        sequences++;
        prefixSum += prefix;
        if (prefix == length) {
            fullMatches++;
        }
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
