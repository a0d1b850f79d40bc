package dev.splitllm.optimizer.profile;

import dev.splitllm.quantization.weights.WeightFormat;

/**
 * Measured compute cost of one weight format on one device, per transformer block.
 *
 * @param format         weight format id ("f32", "q8_0", ...)
 * @param prefillLayerMs milliseconds for one block to process T tokens at positions [0, T), x = T
 * @param decodeLayerMs  milliseconds for one block to process one token with c positions already
 *                       cached, x = c
 * @param headMs         final norm + classifier for one row of logits
 * @param embedMsPerToken token-embedding lookup per token (the table at this format)
 * @param residentBytes  whole model at this format, seq_len KV, batch 1 (MemoryAccount), for reference
 */
public record FormatProfile(String format, Curve prefillLayerMs, Curve decodeLayerMs, double headMs, double embedMsPerToken,
                            long residentBytes) {

    public FormatProfile {
        if (format == null) {
            throw new IllegalArgumentException("format profile: missing 'format'");
        }
        WeightFormat.parse(format);
        if (prefillLayerMs == null || decodeLayerMs == null) {
            throw new IllegalArgumentException("format profile " + format + ": missing prefillLayerMs or decodeLayerMs");
        }
        if (!(headMs >= 0) || !Double.isFinite(headMs) || !(embedMsPerToken >= 0) || !Double.isFinite(embedMsPerToken)) {
            throw new IllegalArgumentException("format profile " + format + ": headMs and embedMsPerToken must be finite and >= 0");
        }
        if (residentBytes < 0) {
            throw new IllegalArgumentException("format profile " + format + ": residentBytes must be >= 0");
        }
    }

    /** The parsed format. */
    public WeightFormat weightFormat() {
        return WeightFormat.parse(format);
    }
}
