package dev.splitllm.eval;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.kv.KvDelta;
import dev.splitllm.quantization.kv.KvDeltaCodec;
import dev.splitllm.quantization.kv.KvFrameException;
import dev.splitllm.quantization.kv.KvLimits;
import dev.splitllm.quantization.kv.KvSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The cost of moving KV through the KV delta codec (issue 14, item 1), measured the way
 * {@link SplitEvaluator} measures a wire codec: teacher-forced on the fp32 model's greedy
 * continuation of each prompt, against the untouched fp32 run. After {@code moveAfter} generated
 * tokens (the "move", at position M = prompt + moveAfter) the keys and values of layers
 * [first, end) for ALL past positions [0, M) are encoded as ONE KV delta frame, decoded with the
 * receiver's limits, and written back over the cache; the model then continues. Scored: the
 * positions whose logits are computed after the move (top-1 agreement with the fp32 argmax and
 * mean KL(fp32 || moved), as in {@link SplitEvaluator#measure}). Bits per element: the frame's
 * bytes (header, scales, CRC included) over its 2·layers·M·kvDim elements, summed over prompts.
 *
 * <p>The fp32 kind must reproduce the untouched run bit for bit (KL 0, agreement 1; tested).
 * The decoded rows go back into the cache through {@link SegmentState#replaceRows}, the same call
 * the receiving side of a moved cut or a restore uses.
 */
public final class KvDeltaStudy {
    /** One measured row: layers [first, end), a kind, its bits and quality. */
    public record Row(int first, int end, KvSpec spec, int frames, long frameBytes, long elements, int positions,
                      int agreements, double klSum) {
        public double bitsPerElement() {
            return 8.0 * frameBytes / elements;
        }

        public double agreement() {
            return positions == 0 ? 1 : (double) agreements / positions;
        }

        public double meanKl() {
            return positions == 0 ? 0 : klSum / positions;
        }
    }

    private final Transformer fp32;
    private final SplitEvaluator ev;
    private final int kvDim;

    public KvDeltaStudy(Transformer fp32, int eos) {
        this.fp32 = fp32;
        this.ev = new SplitEvaluator(fp32, eos);
        this.kvDim = fp32.config().kvDim();
    }

    /** The default kinds: fp32, then 8, 4 and 2 bits without and with a residual window of {@code window}. */
    public static List<KvSpec> defaultKinds(int window) {
        List<KvSpec> kinds = new ArrayList<>();
        kinds.add(KvSpec.FP32);
        for (int bits : new int[] {8, 4, 2}) {
            kinds.add(KvSpec.kivi(bits, 0, KvSpec.DEFAULT_GROUP));
            kinds.add(KvSpec.kivi(bits, window, KvSpec.DEFAULT_GROUP));
        }
        return kinds;
    }

    /**
     * Measures every kind for every layer range [ranges[i][0], ranges[i][1]) on every prompt: the
     * fp32 greedy continuation of {@code generated} tokens, the move after {@code moveAfter} of them.
     */
    public List<Row> run(List<int[]> prompts, int generated, int moveAfter, int[][] ranges, List<KvSpec> kinds) {
        int vocab = fp32.config().vocabSize(), nLayers = fp32.config().nLayers();
        long[][] bytes = new long[ranges.length][kinds.size()];
        long[][] elements = new long[ranges.length][kinds.size()];
        int[][] positions = new int[ranges.length][kinds.size()];
        int[][] agree = new int[ranges.length][kinds.size()];
        double[][] kl = new double[ranges.length][kinds.size()];
        double[] lp = new double[vocab], lq = new double[vocab];
        for (int[] prompt : prompts) {
            Reference ref = ev.reference(prompt, generated);
            int[] seq = ref.tokens();
            int P = ref.prefill(), from = ref.from();
            int move = Math.min(P + moveAfter, seq.length);
            SegmentState st = fp32.newState(seq.length);
            fp32.forward(st, fp32.embed(java.util.Arrays.copyOf(seq, P)), P);
            for (int j = P; j < move; j++) {
                fp32.forward(st, fp32.embed(new int[] {seq[j]}), 1);
            }
            if (st.rows() < move) {
                throw new IllegalArgumentException("a sliding-window cache of " + st.rows() + " rows no longer holds all "
                        + move + " past positions");
            }
            // The untouched cache of positions [0, move), layer by layer, linear.
            float[][] savedK = new float[nLayers][], savedV = new float[nLayers][];
            for (int l = 0; l < nLayers; l++) {
                savedK[l] = st.keysOf(l, move);
                savedV[l] = st.valuesOf(l, move);
            }
            for (int r = 0; r < ranges.length; r++) {
                int first = ranges[r][0], end = ranges[r][1];
                if (first < 0 || end <= first || end > nLayers) {
                    throw new IllegalArgumentException("layer range [" + first + ", " + end + ") outside 0.." + nLayers);
                }
                for (int s = 0; s < kinds.size(); s++) {
                    st.truncate(move);
                    for (int l = 0; l < nLayers; l++) {
                        st.replaceRows(l, 0, move, savedK[l], savedV[l]);
                    }
                    // The sender: rows of positions [0, move) of layers [first, end).
                    float[][] k = java.util.Arrays.copyOfRange(savedK, first, end);
                    float[][] v = java.util.Arrays.copyOfRange(savedV, first, end);
                    byte[] frame = KvDeltaCodec.encode(kinds.get(s), 0x5eedL, 1, first, 0, move, kvDim, k, v);
                    KvDelta d;
                    try {
                        d = KvDeltaCodec.decode(frame, KvLimits.of(first, end, seq.length, kvDim).withEpoch(1));
                    } catch (KvFrameException e) {
                        throw new IllegalStateException("a frame the encoder made was rejected", e);
                    }
                    for (int l = first; l < end; l++) {
                        st.replaceRows(l, 0, move, d.keys()[l - first], d.values()[l - first]);
                    }
                    bytes[r][s] += frame.length;
                    elements[r][s] += 2L * (end - first) * move * kvDim;
                    // Continue teacher-forced; score logits computed after the move.
                    for (int j = move; j < seq.length; j++) {
                        float[] h = fp32.embed(new int[] {seq[j]});
                        fp32.forward(st, h, 1);
                        float[] logits = fp32.lastLogits(h, 1);
                        int i = j - from; // scored index of position j
                        int off = i * vocab;
                        SplitEvaluator.logSoftmax(ref.logits(), off, vocab, lp);
                        SplitEvaluator.logSoftmax(logits, 0, vocab, lq);
                        double sum = 0;
                        for (int t = 0; t < vocab; t++) {
                            sum += Math.exp(lp[t]) * (lp[t] - lq[t]);
                        }
                        kl[r][s] += Math.max(0.0, sum);
                        if (SplitEvaluator.argmax(logits, 0, vocab) == ref.fp32ArgmaxAt(i)) {
                            agree[r][s]++;
                        }
                        positions[r][s]++;
                    }
                }
            }
        }
        List<Row> out = new ArrayList<>();
        for (int r = 0; r < ranges.length; r++) {
            for (int s = 0; s < kinds.size(); s++) {
                out.add(new Row(ranges[r][0], ranges[r][1], kinds.get(s), prompts.size(), bytes[r][s], elements[r][s], positions[r][s],
                        agree[r][s], kl[r][s]));
            }
        }
        return out;
    }

    /** The study's prompts: the first {@code n} story openings of {@link PromptSet#STORIES}, with BOS. */
    public static List<int[]> storyPrompts(Tokenizer tok, int n) {
        if (n < 1 || n > PromptSet.STORIES.size()) {
            throw new IllegalArgumentException("prompts must be in 1.." + PromptSet.STORIES.size() + ", got " + n);
        }
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(tok.encode(PromptSet.STORIES.get(i), true));
        }
        return out;
    }

    /** A markdown table of {@code rows}. */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| move (layers sent) | KV kind | frame bits/element | mean frame bytes | top-1 agree | mean KL (nats) | scored positions |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| [%d, %d) | `%s` | %.3f | %d | %.4f | %.3g | %d |%n", r.first(), r.end(),
                    r.spec(), r.bitsPerElement(), r.frameBytes() / Math.max(1, r.frames()),
                    r.agreement(), r.meanKl(), r.positions()));
        }
        return sb.toString();
    }

    /**
     * {@code KvDeltaStudy [--prompts N] [--tokens T] [--move-after M] [--window W] [--threads K] [--kinds "SPEC;SPEC"]}:
     * loads the built-in stories15M, prints the table.
     */
    public static void main(String[] args) throws IOException {
        int prompts = 8, tokens = 32, moveAfter = 8, window = 8, threads = 2;
        List<KvSpec> kinds = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            if (a.equals("--kinds")) {
                kinds = new ArrayList<>();
                for (String k : args[++i].split(";")) {
                    kinds.add(KvSpec.parse(k));
                }
                continue;
            }
            int v = Integer.parseInt(args[++i]);
            switch (a) {
                case "--prompts" -> prompts = v;
                case "--tokens" -> tokens = v;
                case "--move-after" -> moveAfter = v;
                case "--window" -> window = v;
                case "--threads" -> threads = v;
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        long t0 = System.nanoTime();
        BuiltInModel model = BuiltInModel.loadF32();
        ModelWeights weights = model.weights;
        Tokenizer tok = model.tokenizer;
        int[][] ranges = {{1, 3}, {0, 3}, {3, 6}, {0, 6}};
        try (ThreadTeam team = new ThreadTeam(threads)) {
            KvDeltaStudy study = new KvDeltaStudy(new Transformer(weights, KernelProvider.best(), team), tok.eos());
            List<Row> rows = study.run(storyPrompts(tok, prompts), tokens, moveAfter, ranges, kinds != null ? kinds : defaultKinds(window));
            System.out.print(table(rows));
            System.out.printf(Locale.ROOT, "%d prompts x %d tokens, move after %d generated tokens, %.1f s%n", prompts, tokens,
                    moveAfter, (System.nanoTime() - t0) / 1e9);
        }
    }
}
