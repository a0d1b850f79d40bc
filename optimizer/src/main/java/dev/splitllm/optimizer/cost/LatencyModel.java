package dev.splitllm.optimizer.cost;

import dev.splitllm.optimizer.profile.CodecTiming;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.FormatProfile;
import dev.splitllm.optimizer.profile.LinkProfile;
import dev.splitllm.quantization.weights.WeightFormat;

/**
 * The latency model of paper §5.2, from profiled per-block times:
 *
 * <pre>
 *   TTFT      = P·t_emb + l·t_edge(Q_w1, P) + t_enc(P) + S(P)/R_up + RTT/2
 *               + t_dec(P) + (L-l)·t_cloud(Q_w2, P) + t_head + b_tok/R_down + RTT/2
 *   T_token(c) = t_emb + l·t_edge(Q_w1, 1 | c) + t_enc(1) + S(1)/R_up + RTT/2
 *               + t_dec(1) + (L-l)·t_cloud(Q_w2, 1 | c) + t_head + b_tok/R_down + RTT/2
 * </pre>
 *
 * with c the positions already cached, S the frame bits from the {@link PayloadModel} and
 * b_tok the downlink bits per token (a 32-bit token id). Per-block times are read from the
 * device profiles' curves (linear interpolation between measured sizes). A plan with l = L
 * runs everything on the edge, head included, and uses no link; l = 0 still embeds on the edge
 * and ships the embeddings.
 *
 * <p>Speculation across the cut ({@link #draftStep}): a round trip carrying k drafts runs the
 * edge's embedding and blocks, the codec and the cloud's blocks and head on k + 1 rows, the
 * drafter k times, and sends one frame of k + 1 rows:
 *
 * <pre>
 *   T_step(k, c) = (k+1)·(t_emb + l·t_edge(1 | c) + t_enc(1) + t_dec(1) + (L-l)·t_cloud(1 | c) + t_head)
 *                 + k·t_draft + S_k/R_up + b_tok/R_down + RTT
 * </pre>
 *
 * with S_k the DRAFT frame's bits ({@link PayloadModel#draftBits}); it yields E(k) tokens on
 * average ({@link DraftProfile#tokensPerRoundTrip}), so the per-token latency is T_step / E(k)
 * ({@link DraftedDecode}). Rows are costed one by one, as if unbatched: an upper bound, since the
 * cloud verifies the k + 1 rows in one batched pass.
 */
public final class LatencyModel {
    private final DeviceProfile edge;
    private final DeviceProfile cloud;
    private final LinkProfile link;
    private final int layers;
    private final int downlinkBitsPerToken;
    /** Lookups resolved once: the planner calls this model for every grid point. */
    private final java.util.EnumMap<WeightFormat, FormatProfile> edgeFormats = new java.util.EnumMap<>(WeightFormat.class);
    private final java.util.EnumMap<WeightFormat, FormatProfile> cloudFormats = new java.util.EnumMap<>(WeightFormat.class);
    private final java.util.Map<String, CodecTiming> edgeCodec = new java.util.HashMap<>();
    private final java.util.Map<String, CodecTiming> cloudCodec = new java.util.HashMap<>();

    public LatencyModel(DeviceProfile edge, DeviceProfile cloud, LinkProfile link, int layers, int downlinkBitsPerToken) {
        this.edge = edge;
        this.cloud = cloud;
        this.link = link;
        this.layers = layers;
        this.downlinkBitsPerToken = downlinkBitsPerToken;
        for (FormatProfile f : edge.formats()) edgeFormats.put(f.weightFormat(), f);
        for (FormatProfile f : cloud.formats()) cloudFormats.put(f.weightFormat(), f);
    }

    /** Time to first token for a prompt of {@code tokens}, with a prefill frame of {@code bits}. */
    public Latency prefill(int split, WeightFormat qEdge, WeightFormat qCloud, String codec, double bits, int tokens) {
        FormatProfile e = need(edgeFormats, edge, qEdge);
        double edgeMs = tokens * e.embedMsPerToken() + split * e.prefillLayerMs().at(tokens);
        if (split == layers) {
            return new Latency(edgeMs + e.headMs(), 0, 0, 0);
        }
        FormatProfile c = need(cloudFormats, cloud, qCloud);
        CodecTiming enc = edgeCodec.computeIfAbsent(codec, edge::codecTiming), dec = cloudCodec.computeIfAbsent(codec, cloud::codecTiming);
        double codecMs = enc.encodeMs().at(tokens) + dec.decodeMs().at(tokens);
        double cloudMs = (layers - split) * c.prefillLayerMs().at(tokens) + c.headMs();
        return new Latency(edgeMs, codecMs, linkMs(bits), cloudMs);
    }

    /** One decode step with {@code context} positions already cached and a frame of {@code bits}. */
    public Latency decode(int split, WeightFormat qEdge, WeightFormat qCloud, String codec, double bits, int context) {
        FormatProfile e = need(edgeFormats, edge, qEdge);
        double edgeMs = e.embedMsPerToken() + split * e.decodeLayerMs().at(context);
        if (split == layers) {
            return new Latency(edgeMs + e.headMs(), 0, 0, 0);
        }
        FormatProfile c = need(cloudFormats, cloud, qCloud);
        CodecTiming enc = edgeCodec.computeIfAbsent(codec, edge::codecTiming), dec = cloudCodec.computeIfAbsent(codec, cloud::codecTiming);
        double codecMs = enc.encodeMs().at(1) + dec.decodeMs().at(1);
        double cloudMs = (layers - split) * c.decodeLayerMs().at(context) + c.headMs();
        return new Latency(edgeMs, codecMs, linkMs(bits), cloudMs);
    }

    /**
     * One round trip of speculative decoding with {@code k} drafts, each drafted in
     * {@code msPerDraft} on the edge, at {@code context} cached positions, with a DRAFT frame of
     * {@code frameBits}. k = 0 is the plain decode step. Only for splits that cross the link.
     */
    public Latency draftStep(int split, WeightFormat qEdge, WeightFormat qCloud, String codec, double frameBits, int context, int k,
                             double msPerDraft) {
        if (split == layers) {
            throw new IllegalArgumentException("an all-edge plan has no round trip to speculate across");
        }
        if (k < 0) throw new IllegalArgumentException("k must be >= 0, got " + k);
        Latency row = decode(split, qEdge, qCloud, codec, frameBits, context);
        int rows = k + 1;
        return new Latency(rows * row.edgeMs() + k * msPerDraft, rows * row.codecMs(), row.linkMs(), rows * row.cloudMs());
    }

    private double linkMs(double upBits) {
        return link.uplinkMs(upBits) + link.downlinkMs(downlinkBitsPerToken) + link.rttMs();
    }

    private static FormatProfile need(java.util.Map<WeightFormat, FormatProfile> m, DeviceProfile p, WeightFormat f) {
        FormatProfile fp = m.get(f);
        if (fp == null) {
            throw new IllegalArgumentException("device profile " + p.name() + " has no measurements for " + f.id());
        }
        return fp;
    }
}
