package dev.splitllm.optimizer.cost;

/**
 * A latency split into where the time goes, milliseconds.
 *
 * @param edgeMs  edge compute (embedding, front blocks, and the head for all-edge plans)
 * @param codecMs activation encode on the edge plus decode on the cloud
 * @param linkMs  uplink transfer + downlink transfer + RTT
 * @param cloudMs cloud compute (back blocks and head)
 */
public record Latency(double edgeMs, double codecMs, double linkMs, double cloudMs) {
    public double totalMs() {
        return edgeMs + codecMs + linkMs + cloudMs;
    }
}
