package dev.splitllm.cloud;

import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.quantization.weights.WeightFormat;

/**
 * Derives the cloud's copy of the model at a session's weight format (OPSC's Q_w2): every
 * block at that format; the embedding and LM head at the same format, except that Q4_0 keeps
 * the head at Q8_0 and Q4_K / Q5_K at Q6_K, as llama.cpp keeps its output tensor at higher
 * precision.
 */
public final class CloudWeights {
    private CloudWeights() {}

    public static PrecisionPlan planFor(WeightFormat blocks) {
        WeightFormat head = blocks == WeightFormat.Q4_0 ? WeightFormat.Q8_0
                : blocks == WeightFormat.Q4_K || blocks == WeightFormat.Q5_K ? WeightFormat.Q6_K : blocks;
        return new PrecisionPlan(0, blocks, blocks, head, head);
    }

    public static ModelWeights convert(ModelWeights full, WeightFormat blocks) {
        return ModelQuantizer.apply(full, planFor(blocks));
    }
}
