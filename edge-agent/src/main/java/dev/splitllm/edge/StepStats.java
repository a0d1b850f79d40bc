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
 * @param drafted        tokens drafted in this step (0: a plain step)
 * @param accepted       drafted tokens the cloud kept (the step yields accepted + 1 tokens)
 * @param draftMs        time the drafter took (included in edgeMs)
 */
public record StepStats(long step, int tokens, double edgeMs, double encodeMs, int bytesUp, double networkCloudMs,
                        double cloudMs, int reconnects, int drafted, int accepted, double draftMs) {

    /** A plain step (no drafts). */
    public StepStats(long step, int tokens, double edgeMs, double encodeMs, int bytesUp, double networkCloudMs,
                     double cloudMs, int reconnects) {
        this(step, tokens, edgeMs, encodeMs, bytesUp, networkCloudMs, cloudMs, reconnects, 0, 0, 0);
    }
}
