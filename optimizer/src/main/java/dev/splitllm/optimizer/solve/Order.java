package dev.splitllm.optimizer.solve;

import java.util.Comparator;

/** The total order of candidates under an {@link Objective} (best first), ties broken deterministically. */
final class Order {
    private Order() {}

    static double agreementKey(Candidate c) {
        return Double.isNaN(c.agreement()) ? -1 : c.agreement();
    }

    static double klKey(Candidate c) {
        return Double.isNaN(c.meanKl()) ? Double.POSITIVE_INFINITY : c.meanKl();
    }

    static Comparator<Candidate> of(Objective o) {
        Comparator<Candidate> latency = Comparator.comparingDouble(Candidate::msPerToken).thenComparingDouble(Candidate::ttftMs);
        Comparator<Candidate> quality = Comparator.comparingDouble(Order::agreementKey).reversed().thenComparingDouble(Order::klKey);
        Comparator<Candidate> tail = Comparator.comparingLong(Candidate::edgeBytes)
                .thenComparing(Comparator.comparingInt(Candidate::seqLen).reversed())
                .thenComparingLong(Candidate::order);
        switch (o) {
            case MIN_LATENCY: return latency.thenComparing(quality).thenComparing(tail);
            case MAX_SEQ_LEN: return Comparator.comparingInt(Candidate::seqLen).reversed().thenComparing(latency).thenComparing(quality)
                    .thenComparing(tail);
            case MAX_QUALITY: return quality.thenComparing(latency).thenComparing(tail);
            default: throw new AssertionError(o);
        }
    }
}
