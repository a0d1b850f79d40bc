package dev.splitllm.optimizer.solve;

import dev.splitllm.optimizer.cost.DraftProfile;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.LinkProfile;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.quantization.weights.WeightFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Everything the planner needs: the model, the two device profiles, the link, the calibration
 * table, the grid (formats, codecs, sequence lengths), the prompt length, the objective and
 * the limits, and optionally a drafter to speculate with. Build with {@link #builder};
 * {@link #validate} checks that the inputs fit together and names what does not.
 *
 * @param model         the model to plan
 * @param edge          edge device profile
 * @param cloud         cloud device profile
 * @param link          the link
 * @param calibration   payload and quality table
 * @param edgeFormats   Q_w1 candidates
 * @param cloudFormats  Q_w2 candidates
 * @param codecs        codec specs to consider (empty = every codec of the calibration table)
 * @param seqLens       maximum-sequence-length candidates (empty = 64, 128, ... up to the model's seq_len, and seq_len)
 * @param promptTokens  prompt length P for the TTFT and the prefill work buffers
 * @param downlinkBitsPerToken bits the cloud sends back per token (32: a token id)
 * @param objective     what to optimise
 * @param limits        the constraints
 * @param draft         a drafter the split plans may speculate with, or null for none (plain decoding only)
 */
public record PlanRequest(ModelShape model, DeviceProfile edge, DeviceProfile cloud, LinkProfile link, CalibrationTable calibration,
                          List<WeightFormat> edgeFormats, List<WeightFormat> cloudFormats, List<String> codecs,
                          List<Integer> seqLens, int promptTokens, int downlinkBitsPerToken, Objective objective, Limits limits,
                          DraftProfile draft) {

    /** Default Q_w1 and Q_w2 grid. */
    public static final List<WeightFormat> DEFAULT_FORMATS = List.of(WeightFormat.F32, WeightFormat.F16, WeightFormat.Q8_0,
            WeightFormat.Q4_0);
    public static final int MAX_GRID_AXIS = 64;

    public PlanRequest {
        if (model == null || edge == null || cloud == null || link == null || calibration == null || objective == null
                || limits == null) {
            throw new IllegalArgumentException("plan request: model, edge and cloud profiles, link, calibration, objective and limits are required");
        }
        edgeFormats = List.copyOf(edgeFormats == null || edgeFormats.isEmpty() ? DEFAULT_FORMATS : edgeFormats);
        cloudFormats = List.copyOf(cloudFormats == null || cloudFormats.isEmpty() ? DEFAULT_FORMATS : cloudFormats);
        codecs = List.copyOf(codecs == null || codecs.isEmpty() ? calibration.codecs() : codecs);
        seqLens = List.copyOf(seqLens == null || seqLens.isEmpty() ? defaultSeqLens(model.seqLen()) : seqLens);
    }

    /** 64, 128, 256, ... below {@code max}, then {@code max}. */
    public static List<Integer> defaultSeqLens(int max) {
        TreeSet<Integer> s = new TreeSet<>();
        for (long n = 64; n < max; n *= 2) s.add((int) n);
        s.add(max);
        return new ArrayList<>(s);
    }

    /** Throws with a clear message unless the inputs fit together. */
    public void validate() {
        check(model, edge.model(), "edge profile " + edge.name(), edge.derived());
        check(model, cloud.model(), "cloud profile " + cloud.name(), cloud.derived());
        check(model, calibration.model(), "calibration table", calibration.derived());
        if (edgeFormats.size() > MAX_GRID_AXIS || cloudFormats.size() > MAX_GRID_AXIS || codecs.size() > MAX_GRID_AXIS
                || seqLens.size() > MAX_GRID_AXIS) {
            throw new IllegalArgumentException("plan request: at most " + MAX_GRID_AXIS + " values per grid axis");
        }
        if (edgeFormats.size() != new java.util.HashSet<>(edgeFormats).size()
                || cloudFormats.size() != new java.util.HashSet<>(cloudFormats).size()
                || codecs.size() != new java.util.HashSet<>(codecs).size() || seqLens.size() != new java.util.HashSet<>(seqLens).size()) {
            throw new IllegalArgumentException("plan request: grid axes must not repeat a value");
        }
        if (promptTokens < 1 || promptTokens >= model.seqLen()) {
            throw new IllegalArgumentException("prompt length must be in [1, " + (model.seqLen() - 1) + "], got " + promptTokens);
        }
        for (int n : seqLens) {
            if (n < 2 || n > model.seqLen()) {
                throw new IllegalArgumentException("sequence length " + n + " outside [2, " + model.seqLen() + "] (the model's seq_len)");
            }
        }
        if (seqLens.stream().noneMatch(n -> n > promptTokens)) {
            throw new IllegalArgumentException("no candidate sequence length exceeds the prompt (" + promptTokens + " tokens): "
                    + seqLens);
        }
        if (downlinkBitsPerToken < 0 || downlinkBitsPerToken > 1 << 20) {
            throw new IllegalArgumentException("downlink bits per token must be in [0, 2^20]");
        }
        for (String c : codecs) {
            if (c == null || c.isBlank()) throw new IllegalArgumentException("plan request: empty codec spec");
        }
    }

    private static void check(ModelShape want, ModelShape have, String what, boolean derived) {
        if (!want.sameShape(have)) {
            throw new IllegalArgumentException(what + " is for " + have.name() + " (" + have.describe() + "), not for the planned "
                    + want.name() + " (" + want.describe() + ")" + (derived ? "" : "; derive one with DerivedProfiles"));
        }
    }

    /** The same request with {@code drafter} (null: none). */
    public PlanRequest withDraft(DraftProfile drafter) {
        return new PlanRequest(model, edge, cloud, link, calibration, edgeFormats, cloudFormats, codecs, seqLens, promptTokens,
                downlinkBitsPerToken, objective, limits, drafter);
    }

    /** A builder with the defaults: all formats, all codecs, default sequence lengths, 32-token prompt, min latency, no limits, no drafter. */
    public static Builder builder(ModelShape model, DeviceProfile edge, DeviceProfile cloud, LinkProfile link,
                                  CalibrationTable calibration) {
        return new Builder(model, edge, cloud, link, calibration);
    }

    /** Fluent construction of a {@link PlanRequest}. */
    public static final class Builder {
        private final ModelShape model;
        private final DeviceProfile edge;
        private final DeviceProfile cloud;
        private final LinkProfile link;
        private final CalibrationTable calibration;
        private List<WeightFormat> edgeFormats = List.of();
        private List<WeightFormat> cloudFormats = List.of();
        private List<String> codecs = List.of();
        private List<Integer> seqLens = List.of();
        private int promptTokens = 32;
        private int downlinkBits = 32;
        private Objective objective = Objective.MIN_LATENCY;
        private Limits limits = Limits.none();
        private DraftProfile draft;

        Builder(ModelShape model, DeviceProfile edge, DeviceProfile cloud, LinkProfile link, CalibrationTable calibration) {
            this.model = model;
            this.edge = edge;
            this.cloud = cloud;
            this.link = link;
            this.calibration = calibration;
        }

        public Builder edgeFormats(List<WeightFormat> f) { this.edgeFormats = f; return this; }
        public Builder cloudFormats(List<WeightFormat> f) { this.cloudFormats = f; return this; }
        public Builder codecs(List<String> c) { this.codecs = c; return this; }
        public Builder seqLens(List<Integer> s) { this.seqLens = s; return this; }
        public Builder promptTokens(int p) { this.promptTokens = p; return this; }
        public Builder downlinkBitsPerToken(int b) { this.downlinkBits = b; return this; }
        public Builder objective(Objective o) { this.objective = o; return this; }
        public Builder limits(Limits l) { this.limits = l; return this; }
        public Builder draft(DraftProfile d) { this.draft = d; return this; }

        public PlanRequest build() {
            return new PlanRequest(model, edge, cloud, link, calibration, edgeFormats, cloudFormats, codecs, seqLens, promptTokens,
                    downlinkBits, objective, limits, draft);
        }
    }
}
