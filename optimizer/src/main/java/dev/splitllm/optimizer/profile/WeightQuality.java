package dev.splitllm.optimizer.profile;

import dev.splitllm.quantization.weights.WeightFormat;

/**
 * Measured quality of the whole (unsplit) model with every block, the embedding and the
 * classifier at one weight format, against the F32 model on the calibration text.
 *
 * @param format    weight format id
 * @param agreement teacher-forced top-1 agreement with F32, in [0, 1]
 * @param meanKl    mean KL(fp32 ‖ format), nats
 * @param deltaPpl  perplexity minus the F32 perplexity
 */
public record WeightQuality(String format, double agreement, double meanKl, double deltaPpl) {
    public WeightQuality {
        if (format == null) {
            throw new IllegalArgumentException("weight quality: missing 'format'");
        }
        WeightFormat.parse(format);
        if (!(agreement >= 0 && agreement <= 1) || !(meanKl >= 0) || !Double.isFinite(meanKl) || !Double.isFinite(deltaPpl)) {
            throw new IllegalArgumentException("weight quality " + format + ": agreement in [0, 1], finite meanKl >= 0 and finite deltaPpl required");
        }
    }

    /** The parsed format. */
    public WeightFormat weightFormat() {
        return WeightFormat.parse(format);
    }
}
