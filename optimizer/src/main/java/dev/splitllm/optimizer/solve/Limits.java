package dev.splitllm.optimizer.solve;

/**
 * Constraint limits; an unset limit is unbounded.
 *
 * @param edgeMemoryBytes  edge process budget, bytes (MemoryAccount total)
 * @param cloudMemoryBytes cloud process budget, bytes
 * @param maxMsPerToken    per-token latency at the planned maximum context
 * @param maxTtftMs        time to first token for the request's prompt
 * @param minAgreement     teacher-forced top-1 agreement floor, [0, 1]
 * @param maxKl            mean KL ceiling, nats
 * @param minSeqLen        shortest acceptable maximum sequence length
 */
public record Limits(long edgeMemoryBytes, long cloudMemoryBytes, double maxMsPerToken, double maxTtftMs, double minAgreement,
                     double maxKl, int minSeqLen) {

    public Limits {
        if (edgeMemoryBytes <= 0 || cloudMemoryBytes <= 0) {
            throw new IllegalArgumentException("memory budgets must be > 0");
        }
        if (!(maxMsPerToken > 0) || !(maxTtftMs > 0)) {
            throw new IllegalArgumentException("latency limits must be > 0, got " + maxMsPerToken + " and " + maxTtftMs);
        }
        if (!(minAgreement >= 0 && minAgreement <= 1)) {
            throw new IllegalArgumentException("agreement floor must be in [0, 1], got " + minAgreement);
        }
        if (!(maxKl >= 0)) {
            throw new IllegalArgumentException("KL ceiling must be >= 0, got " + maxKl);
        }
        if (minSeqLen < 0) {
            throw new IllegalArgumentException("minimum sequence length must be >= 0, got " + minSeqLen);
        }
    }

    /** No constraint at all. */
    public static Limits none() {
        return new Limits(Long.MAX_VALUE, Long.MAX_VALUE, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, 0,
                Double.POSITIVE_INFINITY, 0);
    }

    public Limits withEdgeMemory(long bytes) {
        return new Limits(bytes, cloudMemoryBytes, maxMsPerToken, maxTtftMs, minAgreement, maxKl, minSeqLen);
    }

    public Limits withCloudMemory(long bytes) {
        return new Limits(edgeMemoryBytes, bytes, maxMsPerToken, maxTtftMs, minAgreement, maxKl, minSeqLen);
    }

    public Limits withMaxMsPerToken(double ms) {
        return new Limits(edgeMemoryBytes, cloudMemoryBytes, ms, maxTtftMs, minAgreement, maxKl, minSeqLen);
    }

    public Limits withMaxTtftMs(double ms) {
        return new Limits(edgeMemoryBytes, cloudMemoryBytes, maxMsPerToken, ms, minAgreement, maxKl, minSeqLen);
    }

    public Limits withMinAgreement(double a) {
        return new Limits(edgeMemoryBytes, cloudMemoryBytes, maxMsPerToken, maxTtftMs, a, maxKl, minSeqLen);
    }

    public Limits withMaxKl(double kl) {
        return new Limits(edgeMemoryBytes, cloudMemoryBytes, maxMsPerToken, maxTtftMs, minAgreement, kl, minSeqLen);
    }

    public Limits withMinSeqLen(int n) {
        return new Limits(edgeMemoryBytes, cloudMemoryBytes, maxMsPerToken, maxTtftMs, minAgreement, maxKl, n);
    }

    /** The limit of {@code c} as a double. */
    public double limit(Constraint c) {
        switch (c) {
            case EDGE_MEMORY: return edgeMemoryBytes;
            case CLOUD_MEMORY: return cloudMemoryBytes;
            case MS_PER_TOKEN: return maxMsPerToken;
            case TTFT: return maxTtftMs;
            case AGREEMENT: return minAgreement;
            case KL: return maxKl;
            case SEQ_LEN: return minSeqLen;
            default: throw new AssertionError(c);
        }
    }

    /** True when the quality limits are set (a candidate of unknown quality then fails them). */
    public boolean bounded(Constraint c) {
        switch (c) {
            case EDGE_MEMORY: return edgeMemoryBytes != Long.MAX_VALUE;
            case CLOUD_MEMORY: return cloudMemoryBytes != Long.MAX_VALUE;
            case MS_PER_TOKEN: return maxMsPerToken != Double.POSITIVE_INFINITY;
            case TTFT: return maxTtftMs != Double.POSITIVE_INFINITY;
            case AGREEMENT: return minAgreement > 0;
            case KL: return maxKl != Double.POSITIVE_INFINITY;
            case SEQ_LEN: return minSeqLen > 0;
            default: throw new AssertionError(c);
        }
    }
}
