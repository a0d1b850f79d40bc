package dev.splitllm.engine.forward;

import dev.splitllm.engine.sample.Sampler;
import java.util.Arrays;

/** Whole-model generation on one {@link Segment}: the prompt as one batched forward, then one token at a time. */
public final class Generation {
    private Generation() {}

    /**
     * Samples up to {@code maxTokens} tokens after {@code prompt}; stops after {@code eos} (kept
     * in the result) or when the segment's context is full. The segment must hold the embedding
     * and the head and be empty.
     */
    public static int[] generate(Segment seg, int[] prompt, int maxTokens, Sampler sampler, int eos) {
        if (!seg.hasEmbedding() || !seg.hasHead()) {
            throw new IllegalArgumentException("generation needs a segment with the embedding and the head");
        }
        if (prompt.length == 0 || prompt.length >= seg.capacity() - seg.position()) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the context of " + seg.capacity());
        }
        int[] out = new int[maxTokens];
        float[] x = seg.embed(prompt);
        seg.forward(x, prompt.length);
        int next = sampler.sample(seg.lastLogits(x, prompt.length));
        int n = 0;
        while (true) {
            out[n++] = next;
            if (next == eos || n == maxTokens || seg.position() >= seg.capacity()) {
                break;
            }
            x = seg.embed(new int[] {next});
            seg.forward(x, 1);
            next = sampler.sample(seg.lastLogits(x, 1));
        }
        return Arrays.copyOf(out, n);
    }
}
