package dev.splitllm.quantization.protocol;

/**
 * Optional uplink text message: the edge's own timings of step {@code step}, sent up the session's
 * WebSocket right after its token arrived (no answer is awaited; an edge may never send it). The
 * server records it for the dashboard's per-token timeline, so that a step's time splits into
 * the edge's blocks, its encoding, the network (the round trip less the server's own time) and
 * the cloud. All times are milliseconds, finite, {@code >= 0} and below {@link #MAX_MS}.
 *
 * @param type        always "timing"
 * @param step        the step whose token the edge received (the server must have answered it)
 * @param edgeMs      the edge's embedding and blocks [0, split) for the step
 * @param encodeMs    the codec and frame encoding of the step's frame
 * @param roundTripMs from handing the frame to the socket to receiving its token (reconnects included)
 */
public record TimingMessage(String type, long step, double edgeMs, double encodeMs, double roundTripMs) {
    public static final String TYPE = "timing";
    /** Largest time the server accepts in any field (10 minutes). */
    public static final double MAX_MS = 600_000;

    public TimingMessage(long step, double edgeMs, double encodeMs, double roundTripMs) {
        this(TYPE, step, edgeMs, encodeMs, roundTripMs);
    }
}
