package dev.splitllm.edge;

import java.util.List;

/**
 * The outcome of one {@link EdgeSession#generate} call.
 *
 * @param promptTokens the encoded prompt, BOS first
 * @param tokens       generated token ids (EOS included when it ended the story)
 * @param text         generated text
 * @param steps        per-step figures, step 0 first
 * @param wallMs       total time of the call
 * @param stopReason   "eos", "max_tokens", "context_full", or "cancelled" ({@link EdgeSession#cancel})
 */
public record GenerationResult(int[] promptTokens, int[] tokens, String text, List<StepStats> steps, double wallMs,
                               String stopReason) {

    /** Total uplink bytes. */
    public long bytesUp() {
        return steps.stream().mapToLong(StepStats::bytesUp).sum();
    }

    /** Decode tokens per second over the steps after the prefill (the prefill's step yields the first token). */
    public double decodeTokensPerSecond() {
        double ms = steps.stream().skip(1).mapToDouble(s -> s.edgeMs() + s.encodeMs() + s.networkCloudMs()).sum();
        return steps.size() <= 1 || ms <= 0 ? 0 : (tokens.length - 1) / (ms / 1000);
    }

    /** Tokens drafted over the whole generation. */
    public long drafted() {
        return steps.stream().mapToLong(StepStats::drafted).sum();
    }

    /** Drafted tokens the cloud accepted. */
    public long accepted() {
        return steps.stream().mapToLong(StepStats::accepted).sum();
    }

    /** Tokens per round trip after the prefill: decode tokens over decode steps (1 without speculation). */
    public double tokensPerRoundTrip() {
        return steps.size() <= 1 ? 0 : (tokens.length - 1) / (double) (steps.size() - 1);
    }
}
