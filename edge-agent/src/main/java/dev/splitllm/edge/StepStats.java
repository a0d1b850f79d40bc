package dev.splitllm.edge;

/**
 * Figures of one step of the token loop, as the edge sees them.
 *
 * @param step           step number (0 = prefill)
 * @param tokens         hidden-state rows sent (prompt length at step 0, then 1)
 * @param edgeMs         embedding + front blocks
 * @param encodeMs       codec + frame encoding
 * @param bytesUp        frame size
 * @param networkCloudMs from sending the frame to receiving its token (network, cloud, reconnects); with
 *                       {@code edgeMs} and {@code encodeMs}, what the edge reports to the server in its
 *                       timing message ({@code roundTripMs}, docs/PROTOCOL.md)
 * @param cloudMs        the cloud's own compute time for the step
 * @param reconnects     reconnects needed during this step
 */
public record StepStats(long step, int tokens, double edgeMs, double encodeMs, int bytesUp, double networkCloudMs,
                        double cloudMs, int reconnects) {
}
