package dev.splitllm.edge;

import dev.splitllm.quantization.kv.KvDeltaCodec;
import dev.splitllm.quantization.kv.KvSpec;

/**
 * What a move of the cut costs, predicted from what the session measured: the round trip (each
 * step's network time less the cloud's compute), the link's byte rate (from the prefill frame and
 * from KV that came down), and the edge's compute per block and position (batched for the prompt,
 * one token at a time after it). A move toward the cloud costs the round trip plus the KV frame
 * up; toward the edge, either the KV frame down or recomputing the blocks from the token history.
 * Estimates are exponentially weighted (new = 0.7 old + 0.3 sample), so a link change shows within
 * a few steps.
 */
public final class MoveCostModel {
    private static final double W = 0.3;
    /** Round trips the prefill's exchange includes: TCP handshake, WebSocket upgrade, the frame and its answer. */
    private static final int PREFILL_ROUND_TRIPS = 3;
    private double rttMs = Double.NaN;
    private double upBytesPerMs = Double.NaN;
    private double downBytesPerMs = Double.NaN;
    private double edgeDecodeMsPerBlock = Double.NaN;
    private double edgePrefillMsPerBlock = Double.NaN;
    private double cloudDecodeMsPerBlock = Double.NaN;
    private long prefillBytes;
    /** The classifier's multiply-adds in blocks' worth (0 until {@link #withShapes}). */
    private double headBlocks;

    /**
     * The model's shapes: the classifier (dim × vocab multiply-adds) is worth this many blocks
     * (attention and FFN multiply-adds of one block), a cost every cloud step pays whatever the cut.
     */
    public MoveCostModel withShapes(dev.splitllm.engine.model.LlamaConfig c) {
        double block = (double) c.dim() * (2L * c.dim() + 2L * c.kvDim()) + 3.0 * c.dim() * c.hiddenDim();
        headBlocks = (double) c.dim() * c.vocabSize() / block;
        return this;
    }

    /** The classifier's cost in blocks (see {@link #withShapes}). */
    public double headBlocks() {
        return headBlocks;
    }
    private double prefillNetworkMs = Double.NaN;

    /** Takes one answered step: {@code split} is the cut it ran at, {@code layers} the model's blocks. */
    public void observe(StepStats s, int split, int layers) {
        observe(s, split, layers, 0);
    }

    /**
     * As above, when {@code extraBytesUp} (a mirror frame) went up the same socket just before the
     * step's frame: the step then waited for them, which measures the uplink's rate; steps without
     * extra bytes measure the round trip.
     */
    public void observe(StepStats s, int split, int layers, long extraBytesUp) {
        double wire = s.networkCloudMs() - s.cloudMs();
        if (s.step() == 0) {
            prefillBytes = s.bytesUp();
            prefillNetworkMs = wire;
            if (split > 0) edgePrefillMsPerBlock = s.edgeMs() / ((double) s.tokens() * split);
            return;
        }
        if (extraBytesUp > 0) {
            double t = wire - rttMs();
            if (t > 0.5) upBytesPerMs = track(upBytesPerMs, (extraBytesUp + s.bytesUp()) / t, 0);
        } else {
            rttMs = track(rttMs, Math.max(0, wire), 5); // a few ms of jitter on a fast link is noise
        }
        if (s.tokens() == 1 && s.drafted() == 0) {
            if (split > 0) edgeDecodeMsPerBlock = ewma(edgeDecodeMsPerBlock, s.edgeMs() / split);
            // The cloud's step also runs the classifier, worth headBlocks blocks: a step at a deep cut is
            // mostly classifier, and charging it to one block would make the cloud look many times slower.
            if (layers > split) cloudDecodeMsPerBlock = ewma(cloudDecodeMsPerBlock, s.cloudMs() / (layers - split + headBlocks));
        }
        // The prefill's frame also waited for the socket to open (the TCP handshake and the WebSocket
        // upgrade: two more round trips), so only what it took beyond three round trips is transfer;
        // a remainder within the round trip's own noise says nothing about the rate.
        double transfer = prefillNetworkMs - PREFILL_ROUND_TRIPS * rttMs;
        if (Double.isNaN(upBytesPerMs) && prefillBytes > 0 && transfer > Math.max(0.5, 0.5 * rttMs)) {
            upBytesPerMs = prefillBytes / transfer;
        }
    }

    /** Takes a KV frame of {@code bytes} that came down in a move answer taking {@code ms} in all. */
    public void observeDown(long bytes, double ms, double cloudMs) {
        double t = ms - cloudMs - (Double.isNaN(rttMs) ? 0 : rttMs) - transferOverheadMs();
        if (bytes > 0 && t > 0.5) downBytesPerMs = ewma(downBytesPerMs, bytes / t);
    }

    /**
     * An estimate that follows a step change at once: a sample more than {@link #JUMP} times off the
     * estimate (either way) replaces it (the link changed: a handover, a tunnel), anything closer is
     * averaged in, so one noisy step moves it only a little. A change must also exceed {@code floor}.
     */
    private static double track(double old, double sample, double floor) {
        if (Double.isNaN(old) || old <= 0) return sample;
        boolean changed = (sample > JUMP * old || sample < old / JUMP) && Math.abs(sample - old) > floor;
        return changed ? sample : ewma(old, sample);
    }

    /** How far off a sample must be to count as a change of the link rather than noise. */
    private static final double JUMP = 3;

    private static double ewma(double old, double sample) {
        return Double.isNaN(old) ? sample : (1 - W) * old + W * sample;
    }

    /** Round trip in ms (0 before any decode step). */
    public double rttMs() {
        return Double.isNaN(rttMs) ? 0 : rttMs;
    }

    /** Uplink bytes per ms, NaN until the prefill and a decode step have been measured. */
    public double upBytesPerMs() {
        return upBytesPerMs;
    }

    /** Downlink bytes per ms: measured from KV that came down, else the uplink's, else NaN. */
    public double downBytesPerMs() {
        return Double.isNaN(downBytesPerMs) ? upBytesPerMs : downBytesPerMs;
    }

    public double edgeDecodeMsPerBlock() {
        return edgeDecodeMsPerBlock;
    }

    public double edgePrefillMsPerBlock() {
        return Double.isNaN(edgePrefillMsPerBlock) ? edgeDecodeMsPerBlock : edgePrefillMsPerBlock;
    }

    public double cloudDecodeMsPerBlock() {
        return cloudDecodeMsPerBlock;
    }

    /** Sets the compute figures directly (a planner or benchmark that measured them itself). */
    public MoveCostModel withCompute(double edgePrefillMsPerBlock, double edgeDecodeMsPerBlock) {
        this.edgePrefillMsPerBlock = edgePrefillMsPerBlock;
        this.edgeDecodeMsPerBlock = edgeDecodeMsPerBlock;
        return this;
    }

    /**
     * Sets the cloud's compute per block and token directly (the planner's cloud profile), until the
     * session measures its own.
     */
    public MoveCostModel withCloudCompute(double cloudDecodeMsPerBlock) {
        this.cloudDecodeMsPerBlock = cloudDecodeMsPerBlock;
        return this;
    }

    /** Sets the link figures directly (a planner or benchmark that measured them itself). */
    public MoveCostModel withLink(double rttMs, double upBytesPerMs, double downBytesPerMs) {
        this.rttMs = rttMs;
        this.upBytesPerMs = upBytesPerMs;
        this.downBytesPerMs = downBytesPerMs;
        return this;
    }

    /**
     * ms to ship the KV of {@code blocks} blocks at {@code positions} positions at {@code rate}
     * bytes/ms, plus the round trip, plus this device's {@link #transferOverheadMs}.
     */
    private double transferMs(KvSpec kind, int blocks, int positions, int kvDim, double rate) {
        long bytes = KvDeltaCodec.frameBytes(kind, blocks, positions, kvDim);
        return rttMs() + (Double.isNaN(rate) || rate <= 0 ? 0 : bytes / rate) + transferOverheadMs();
    }

    /**
     * What a KV transfer costs beyond the round trip and the bytes on the link: encoding, the HTTP
     * exchange, decoding and loading on both sides, about 5–10 ms on this machine whatever the size
     * (docs/BENCHMARKS.md). A property of the device and server rather than of one session, so it is
     * learned from every move made in this process (new = 0.7 old + 0.3 sample); 0 before the first.
     */
    public static synchronized double transferOverheadMs() {
        return transferOverheadMs;
    }

    /** Takes a transfer that took {@code measuredMs} where the round trip and the bytes predicted {@code linkMs}. */
    public static synchronized void observeTransfer(double measuredMs, double linkMs) {
        double sample = Math.max(0, measuredMs - linkMs);
        transferOverheadMs = transfers++ == 0 ? sample : (1 - W) * transferOverheadMs + W * sample;
    }

    private static double transferOverheadMs;
    private static long transfers;

    /** Predicted ms of a move toward the cloud, from → to, at {@code positions} positions. */
    public double upMs(KvSpec kind, int from, int to, int positions, int kvDim) {
        return transferMs(kind, from - to, positions, kvDim, upBytesPerMs);
    }

    /** Predicted ms of a move toward the edge with the cloud sending the KV of [from, to) down. */
    public double downMs(KvSpec kind, int from, int to, int positions, int kvDim) {
        return transferMs(kind, to - from, positions, kvDim, downBytesPerMs());
    }

    /**
     * Predicted ms of a move toward the edge rebuilding blocks [0, to) on the edge from the tokens:
     * the prompt's positions batched, the rest one at a time; plus the move request's round trip.
     */
    public double recomputeMs(int to, int positions, int promptLength) {
        double prefill = edgePrefillMsPerBlock(), decode = edgeDecodeMsPerBlock;
        if (Double.isNaN(prefill) || Double.isNaN(decode)) return Double.NaN;
        return rttMs() + to * (prefill * promptLength + decode * (positions - promptLength));
    }

    /** True when the cost model says the cloud should send the KV down rather than the edge recompute it. */
    public boolean transferIsCheaper(KvSpec kind, int from, int to, int positions, int promptLength, int kvDim) {
        double recompute = recomputeMs(to, positions, promptLength);
        if (Double.isNaN(recompute)) return true; // nothing measured yet: a transfer's cost is bounded by the link
        return downMs(kind, from, to, positions, kvDim) <= recompute;
    }
}
