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
    private double rttMs = Double.NaN;
    private double upBytesPerMs = Double.NaN;
    private double downBytesPerMs = Double.NaN;
    private double edgeDecodeMsPerBlock = Double.NaN;
    private double edgePrefillMsPerBlock = Double.NaN;
    private double cloudDecodeMsPerBlock = Double.NaN;
    private long prefillBytes;
    private double prefillNetworkMs = Double.NaN;

    /** Takes one answered step: {@code split} is the cut it ran at, {@code layers} the model's blocks. */
    public void observe(StepStats s, int split, int layers) {
        double wire = s.networkCloudMs() - s.cloudMs();
        if (s.step() == 0) {
            prefillBytes = s.bytesUp();
            prefillNetworkMs = wire;
            if (split > 0) edgePrefillMsPerBlock = s.edgeMs() / ((double) s.tokens() * split);
            return;
        }
        rttMs = ewma(rttMs, Math.max(0, wire));
        if (s.tokens() == 1 && s.drafted() == 0) {
            if (split > 0) edgeDecodeMsPerBlock = ewma(edgeDecodeMsPerBlock, s.edgeMs() / split);
            if (layers > split) cloudDecodeMsPerBlock = ewma(cloudDecodeMsPerBlock, s.cloudMs() / (layers - split));
        }
        if (Double.isNaN(upBytesPerMs) && prefillBytes > 0 && prefillNetworkMs - rttMs > 0.5) {
            upBytesPerMs = prefillBytes / (prefillNetworkMs - rttMs);
        }
    }

    /** Takes a KV frame of {@code bytes} that came down in a move answer taking {@code ms} in all. */
    public void observeDown(long bytes, double ms, double cloudMs) {
        double t = ms - cloudMs - (Double.isNaN(rttMs) ? 0 : rttMs);
        if (bytes > 0 && t > 0.5) downBytesPerMs = ewma(downBytesPerMs, bytes / t);
    }

    /** Forgets the link figures (the link changed): the next steps measure it anew. */
    public void linkChanged() {
        rttMs = Double.NaN;
        upBytesPerMs = Double.NaN;
        downBytesPerMs = Double.NaN;
    }

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

    /** Sets the link figures directly (a planner or benchmark that measured them itself). */
    public MoveCostModel withLink(double rttMs, double upBytesPerMs, double downBytesPerMs) {
        this.rttMs = rttMs;
        this.upBytesPerMs = upBytesPerMs;
        this.downBytesPerMs = downBytesPerMs;
        return this;
    }

    /** ms to ship the KV of {@code blocks} blocks at {@code positions} positions at {@code rate} bytes/ms, plus the round trip. */
    private double transferMs(KvSpec kind, int blocks, int positions, int kvDim, double rate) {
        long bytes = KvDeltaCodec.frameBytes(kind, blocks, positions, kvDim);
        return rttMs() + (Double.isNaN(rate) || rate <= 0 ? 0 : bytes / rate);
    }

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
