package dev.splitllm.optimizer.cost;

/**
 * Predicted output quality of a plan against the unsplit F32 model. NaN means not calibrated.
 *
 * @param agreement teacher-forced top-1 agreement in [0, 1]
 * @param meanKl    mean KL(fp32 ‖ plan), nats
 * @param deltaPpl  perplexity increase
 */
public record Quality(double agreement, double meanKl, double deltaPpl) {
    /** Nothing known. */
    public static final Quality UNKNOWN = new Quality(Double.NaN, Double.NaN, Double.NaN);

    public boolean known() {
        return !Double.isNaN(agreement);
    }
}
