package dev.splitllm.engine.draft;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.Q8Activations;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tensor.MatrixConverter;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The "exit-head" drafter: the edge's hidden state at the cut goes through the head's affine
 * adapter ({@link DraftHead}) and then the model's own final RMSNorm and classifier, computed
 * exactly as {@code Transformer.logits} computes them. Needs no history and no state: the cut
 * row the edge has just computed is all it reads. With the identity adapter at full depth it
 * gives the model's own logits bit for bit.
 */
public final class ExitHeadDrafter implements Drafter {
    /** The classifier format {@link #load} uses unless told otherwise: a quarter of F32's memory. */
    public static final WeightFormat DEFAULT_CLASSIFIER_FORMAT = WeightFormat.Q8_0;

    private final DraftHead head;
    private final LlamaConfig config;
    private final float[] rmsFinal;
    private final WeightMatrix classifier;
    private final Kernels kernels;
    private final ThreadTeam team;
    // Work buffers, reused call after call (one session, one caller).
    private final float[] adapted;
    private final float[] normed;
    private final Q8Activations q8 = new Q8Activations();

    /**
     * A drafter from the model's final norm and classifier (already loaded, F32 or Q8_0: see
     * {@link DraftHead#fingerprint}); refuses, saying what differs, a head fitted for another
     * model. The classifier runs on the calling thread.
     */
    public ExitHeadDrafter(DraftHead head, float[] rmsFinal, WeightMatrix classifier, LlamaConfig config, Kernels kernels) {
        this(head, rmsFinal, classifier, config, kernels, null);
    }

    /** As above, with the classifier's rows shared among {@code team} (null: the calling thread). */
    public ExitHeadDrafter(DraftHead head, float[] rmsFinal, WeightMatrix classifier, LlamaConfig config, Kernels kernels,
                           ThreadTeam team) {
        this(head, rmsFinal, classifier, config, kernels, team, DraftHead.fingerprint(config, rmsFinal, classifier));
    }

    /** The fingerprint is computed by the caller (from the model as stored, before the classifier was converted). */
    private ExitHeadDrafter(DraftHead head, float[] rmsFinal, WeightMatrix classifier, LlamaConfig config, Kernels kernels,
                            ThreadTeam team, long modelFingerprint) {
        if (head == null || kernels == null) {
            throw new IllegalArgumentException("the exit-head drafter needs a draft head and kernels");
        }
        head.checkModel(config, modelFingerprint);
        this.head = head;
        this.config = config;
        this.rmsFinal = rmsFinal;
        this.classifier = classifier;
        this.kernels = kernels;
        this.team = team;
        this.adapted = new float[config.dim()];
        this.normed = new float[config.dim()];
    }

    /** {@link #load(Path, DraftHead, WeightFormat, Kernels, ThreadTeam)} on the calling thread. */
    public static ExitHeadDrafter load(Path model, DraftHead head, WeightFormat classifierFormat, Kernels kernels) throws IOException {
        return load(model, head, classifierFormat, kernels, null);
    }

    /**
     * Reads only the final norm and classifier of {@code model} (any format {@link ModelFiles}
     * opens), checks the head against it (shape, then fingerprint, on the weights as stored), and
     * keeps the classifier at {@code classifierFormat} (null: {@link #DEFAULT_CLASSIFIER_FORMAT}).
     */
    public static ExitHeadDrafter load(Path model, DraftHead head, WeightFormat classifierFormat, Kernels kernels, ThreadTeam team)
            throws IOException {
        WeightFormat format = classifierFormat == null ? DEFAULT_CLASSIFIER_FORMAT : classifierFormat;
        try (ModelSource src = ModelFiles.open(model)) {
            LlamaConfig c = src.config();
            try {
                // Shape first: a clear message before the classifier is read at all.
                head.checkModel(c, head.fingerprint());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(model + ": " + e.getMessage(), e);
            }
            ModelWeights w = src.load(new ModelSlice(0, 0, false, true));
            long fingerprint = DraftHead.fingerprint(c, w.rmsFinal(), w.classifier());
            WeightMatrix cls = MatrixConverter.convert(w.classifier(), format, "classifier");
            try {
                return new ExitHeadDrafter(head, w.rmsFinal(), cls, c, kernels, team, fingerprint);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(model + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public String name() {
        return "exit-head";
    }

    @Override
    public boolean needsCutRow() {
        return true;
    }

    public DraftHead head() {
        return head;
    }

    /** Scores from {@code cutRow} alone; the history is not read. Always has a guess. */
    @Override
    public boolean score(int[] history, int length, float[] cutRow, float[] logits) {
        int d = config.dim();
        if (cutRow == null) {
            throw new IllegalArgumentException("the exit-head drafter needs the hidden state at the cut (needsCutRow is true)");
        }
        if (cutRow.length < d) {
            throw new IllegalArgumentException("cut row holds " + cutRow.length + " floats, need d = " + d);
        }
        if (logits == null || logits.length < config.vocabSize()) {
            throw new IllegalArgumentException("logits need room for " + config.vocabSize() + " floats");
        }
        float[] w = head.w, b = head.b;
        for (int i = 0; i < d; i++) {
            adapted[i] = kernels.dotF32(w, i * d, cutRow, 0, d) + b[i];
        }
        // RMSNorm exactly as Transformer.rmsnorm (same operation order, so the same bits).
        float ss = 0;
        for (int i = 0; i < d; i++) {
            ss += adapted[i] * adapted[i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / d + config.normEps()));
        for (int i = 0; i < d; i++) {
            normed[i] = rmsFinal[i] * (inv * adapted[i]);
        }
        Q8Activations q = classifier.takesQ8(kernels) ? q8.quantize(normed, 1, d) : null;
        if (team == null) {
            classifier.dotRows(kernels, 0, classifier.rows(), normed, q, 0, logits, 0);
        } else {
            team.run(classifier.rows(), (from, to) -> classifier.dotRows(kernels, from, to, normed, q, 0, logits, from));
        }
        return true;
    }

    /** Adapter, classifier and final norm. */
    @Override
    public long residentBytes() {
        return head.bytes() + classifier.bytes() + 4L * rmsFinal.length;
    }
}
