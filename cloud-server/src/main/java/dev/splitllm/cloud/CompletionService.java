package dev.splitllm.cloud;

import dev.splitllm.engine.forward.Generation;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.protocol.CompletionRequest;
import dev.splitllm.quantization.protocol.CompletionResponse;

/** Plain cloud-only text completion ({@code POST /v1/completions}) on the whole model. */
final class CompletionService {
    static final int MAX_PROMPT_CHARS = 64 * 1024;
    private final ModelHost host;
    private final SessionRegistry registry;

    CompletionService(ModelHost host, SessionRegistry registry) {
        this.host = host;
        this.registry = registry;
    }

    CompletionResponse complete(CompletionRequest req, int maxSeqLen, byte[] caller) {
        if (req.prompt() == null) {
            throw ApiException.badRequest("prompt is required");
        }
        if (req.prompt().length() > MAX_PROMPT_CHARS) {
            throw ApiException.badRequest("prompt longer than " + MAX_PROMPT_CHARS + " characters");
        }
        if (req.maxTokens() < 1 || req.maxTokens() > maxSeqLen) {
            throw ApiException.badRequest("maxTokens must be in [1, " + maxSeqLen + "], got " + req.maxTokens());
        }
        Sampler sampler;
        try {
            sampler = new Sampler(req.temperature(), req.topP(), req.seed());
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
        Tokenizer tok = host.tokenizer();
        int[] prompt = tok.encode(req.prompt(), true);
        if (prompt.length >= maxSeqLen) {
            throw ApiException.badRequest("prompt is " + prompt.length + " tokens; the context holds " + maxSeqLen);
        }
        int budget = Math.min(req.maxTokens(), maxSeqLen - prompt.length);
        int positions = prompt.length + budget;
        long kv = MemoryAccount.kvCacheBytes(host.config(), host.config().nLayers(), positions);
        registry.reserveKv(kv, "this completion", caller);
        try (Segment seg = host.nativeBackend().open(positions)) {
            long t0 = System.nanoTime();
            int[] tokens = Generation.generate(seg, prompt, budget, sampler, tok.eos());
            long t2 = System.nanoTime();
            int n = tokens.length;
            int[] all = new int[prompt.length + n];
            System.arraycopy(prompt, 0, all, 0, prompt.length);
            System.arraycopy(tokens, 0, all, prompt.length, n);
            String full = tok.decode(all);
            String promptText = tok.decode(prompt);
            String text = full.startsWith(promptText) ? full.substring(promptText.length()) : full;
            return new CompletionResponse(text, tokens, prompt.length, (t2 - t0) / 1e6);
        } finally {
            registry.releaseKv(kv, caller);
        }
    }
}
