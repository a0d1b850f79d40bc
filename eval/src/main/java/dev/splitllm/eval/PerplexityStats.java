package dev.splitllm.eval;

/** Summed negative log-likelihood (nats) over scored tokens; perplexity = exp(mean NLL). */
public final class PerplexityStats {
    private double nll;
    private long tokens;

    void add(double nll, long tokens) {
        this.nll += nll;
        this.tokens += tokens;
    }

    public double meanNll() {
        return tokens == 0 ? Double.NaN : nll / tokens;
    }

    public double perplexity() {
        return Math.exp(meanNll());
    }

    public long tokens() {
        return tokens;
    }
}
