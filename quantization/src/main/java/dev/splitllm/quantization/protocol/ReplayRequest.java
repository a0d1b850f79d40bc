package dev.splitllm.quantization.protocol;

/**
 * The JSON head of {@code POST /v1/sessions/{id}/replay}: re-creates a session that a lost or
 * drained replica held, under the same identity, from the edge's log of the frames it sent. The
 * binary body that follows the head holds {@code frames} frames (docs/PROTOCOL.md, "Failover").
 *
 * @param splitLayer   as in the original {@link SessionRequest}
 * @param codec        as in the original request (canonical form from {@link SessionCreated})
 * @param cloudWeights as in the original request
 * @param maxSeqLen    positions granted at creation
 * @param temperature  as in the original request
 * @param topP         as in the original request
 * @param seed         sampler seed; with the number of answered steps it rebuilds the sampler state
 * @param frameSession the 64-bit tag every logged frame carries
 * @param epoch        the epoch the edge last had; the replayed session gets {@code epoch + 1}
 * @param resumeTicket the ticket from {@link SessionCreated}
 * @param frames       frames in the body: steps 0 .. frames-1, the last one the step in flight
 */
public record ReplayRequest(int splitLayer, String codec, String cloudWeights, int maxSeqLen, float temperature,
                            float topP, long seed, long frameSession, long epoch, String resumeTicket, int frames) {
}
