package dev.splitllm.quantization.protocol;

/**
 * Body of {@code POST /v1/sessions}: how the edge will split and compress.
 *
 * @param splitLayer   blocks [0, splitLayer) run on the edge, [splitLayer, L) on the cloud
 * @param codec        activation codec spec, e.g. "fp32" or "tabq:eps=1e-3,bits=2/3/4/6/8,tau=4"
 * @param cloudWeights weight format of the cloud segment (Q_w2), e.g. "f32" or "q8_0"
 * @param maxSeqLen    positions the session may use (prompt + generated); sizes the cloud KV cache
 * @param temperature  0 for greedy
 * @param topP         nucleus mass in [0, 1]; 1 disables
 * @param seed         sampler seed
 */
public record SessionRequest(int splitLayer, String codec, String cloudWeights, int maxSeqLen,
                             float temperature, float topP, long seed) {
}
