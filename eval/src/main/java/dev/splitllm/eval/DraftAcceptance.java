package dev.splitllm.eval;

import dev.splitllm.engine.draft.Drafter;
import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A drafter's acceptance rate α, measured offline and teacher-forced, for the optimizer's latency
 * model (greedy decoding only). The text is what a greedy split session actually drafts on: the
 * unsplit fp32 model's greedy continuation ({@link SplitEvaluator#reference}) of the built-in
 * in-domain story prompts ({@link PromptSet#STORIES}, no download), prompt after prompt, until the
 * position cap. At every generated position the drafter scores the history so far
 * ({@link Drafter#score}) and its argmax is compared with the fp32 argmax there:
 *
 * <ul>
 *   <li>α = positions where the drafter's argmax equals the fp32 argmax / positions (a position
 *       where the drafter has no guess counts as a rejection: it ends the step's drafting);</li>
 *   <li>hit rate = positions with a guess / positions (below 1 only for drafters that can miss,
 *       like the n-gram lookup);</li>
 *   <li>time per call: the median wall time of one {@code score} call, in milliseconds;</li>
 *   <li>resident bytes: the drafter's own {@link Drafter#residentBytes}.</li>
 * </ul>
 *
 * Drafters that read the cut row ({@link Drafter#needsCutRow}) get the fp32 model's hidden state
 * after blocks [0, cut) of the history's last token, computed in one batch over the sequence.
 * Under greedy verification α is exactly the chance a draft is kept given that the ones before
 * it were, so a step of k drafts yields E(k) = (1 - α^(k+1)) / (1 - α) tokens on average.
 */
public final class DraftAcceptance {
    /** Positions measured unless told otherwise. */
    public static final int DEFAULT_POSITIONS = 256;
    /** Most positions one measurement may take. */
    public static final int MAX_POSITIONS = 8192;
    /** Tokens of greedy continuation per story prompt. */
    public static final int CONTINUATION = 64;
    /** The progress stage name. */
    public static final String STAGE = "draft acceptance";

    private final Transformer fp32;
    private final Tokenizer tokenizer;
    private final SplitEvaluator evaluator;

    /**
     * What one drafter measured.
     *
     * @param drafter       the drafter's name
     * @param cut           the split layer whose cut row was passed (-1 when the drafter reads none)
     * @param positions     positions measured
     * @param guesses       positions where the drafter had a guess
     * @param agreed        positions where its argmax equalled the fp32 argmax
     * @param msPerCall     median wall time of one score call, ms
     * @param residentBytes the drafter's resident bytes
     */
    public record Result(String drafter, int cut, int positions, int guesses, int agreed, double msPerCall, long residentBytes) {
        /** Acceptance rate α: agreed / positions. */
        public double alpha() {
            return positions == 0 ? 0 : (double) agreed / positions;
        }

        /** Positions with a guess / positions. */
        public double hitRate() {
            return positions == 0 ? 0 : (double) guesses / positions;
        }

        /** "model: alpha 0.861 (220/256), hit rate 1.000, 1.84 ms/call, 12.4 MB". */
        public String describe() {
            return String.format(Locale.ROOT, "%s: alpha %.3f (%d/%d), hit rate %.3f, %.3f ms/call, %.1f MB", drafter, alpha(), agreed,
                    positions, hitRate(), msPerCall, residentBytes / 1e6);
        }
    }

    /**
     * @param fp32      the unsplit fp32 model (embedding, every block, head): the reference argmax
     * @param tokenizer its tokenizer (BOS, EOS, the story prompts)
     */
    public DraftAcceptance(Transformer fp32, Tokenizer tokenizer) {
        this.fp32 = fp32;
        this.tokenizer = tokenizer;
        this.evaluator = new SplitEvaluator(fp32, tokenizer.eos());
    }

    /**
     * Measures {@code drafter} over at most {@code positions} positions.
     *
     * @param cut      the split layer whose cut row a {@link Drafter#needsCutRow} drafter reads, in [0, L]
     * @param listener progress, one unit per position
     */
    public Result measure(Drafter drafter, int cut, int positions, EvalListener listener) {
        int layers = fp32.config().nLayers(), vocab = fp32.config().vocabSize(), d = fp32.config().dim();
        if (positions < 1 || positions > MAX_POSITIONS) {
            throw new IllegalArgumentException("positions must be in 1.." + MAX_POSITIONS + ", got " + positions);
        }
        boolean cutRow = drafter.needsCutRow();
        if (cutRow && (cut < 0 || cut > layers)) {
            throw new IllegalArgumentException("the cut layer must be in [0, " + layers + "], got " + cut);
        }
        float[] logits = new float[vocab];
        float[] row = cutRow ? new float[d] : null;
        long[] nanos = new long[positions];
        int done = 0, guesses = 0, agreed = 0;
        List<String> prompts = PromptSet.STORIES;
        for (int p = 0; p < prompts.size() && done < positions; p++) {
            int[] prompt = tokenizer.encode(prompts.get(p), true);
            int room = fp32.config().seqLen() - prompt.length + 1;
            Reference ref = evaluator.reference(prompt, Math.min(CONTINUATION, Math.min(room, positions - done)));
            int[] seq = ref.tokens();
            float[] hidden = cutRow ? cutRows(seq, cut) : null;
            for (int i = 0; i < ref.length() && done < positions; i++) {
                int length = ref.from() + i + 1; // history: seq[0, length), whose next token the fp32 model chose as fp32ArgmaxAt(i)
                if (cutRow) System.arraycopy(hidden, (length - 1) * d, row, 0, d);
                long t0 = System.nanoTime();
                boolean guessed = drafter.score(seq, length, row, logits);
                nanos[done] = System.nanoTime() - t0;
                if (guessed) {
                    guesses++;
                    if (SplitEvaluator.argmax(logits, 0, vocab) == ref.fp32ArgmaxAt(i)) agreed++;
                }
                done++;
                listener.progress(STAGE, done, positions);
            }
        }
        if (done == 0) throw new IllegalStateException("no position to measure (every prompt ended at once)");
        long[] t = Arrays.copyOf(nanos, done);
        Arrays.sort(t);
        double median = (done % 2 == 1 ? t[done / 2] : (t[done / 2 - 1] + t[done / 2]) / 2.0) / 1e6;
        return new Result(drafter.name(), cutRow ? cut : -1, done, guesses, agreed, median, drafter.residentBytes());
    }

    /** The fp32 hidden states after blocks [0, cut) of every row of {@code seq} (one causal batch: each row sees only its past). */
    private float[] cutRows(int[] seq, int cut) {
        float[] x = fp32.embed(seq);
        if (cut > 0) {
            SegmentState st = fp32.newState(0, cut, seq.length);
            fp32.forward(st, x, seq.length);
        }
        return x;
    }
}
