package dev.splitllm.eval;

import java.nio.file.Path;
import java.util.List;

/**
 * What an evaluation run measures. {@link #quick()} is the smoke configuration (one split,
 * a handful of codecs, short text, few prompts); {@link #full()} is the bounded run behind
 * docs/RESULTS.md. All sizes are validated against hard bounds.
 *
 * @param model          the model: a llama2.c .bin, a .gguf, or a Hugging Face directory (read
 *                       through {@link dev.splitllm.engine.load.ModelFiles}, any precision; the
 *                       reference is its F32 conversion)
 * @param tokenizer      a llama2.c tokenizer.bin, or null for the one the model carries (GGUF,
 *                       Hugging Face, or a tokenizer.bin beside a llama2.c checkpoint)
 * @param threads        worker threads for the forward pass (1..64)
 * @param splits         split layers to evaluate (each 1..L-1)
 * @param prompts        prompts of the fixed set to use (1..64; half stories, half Austen, interleaved)
 * @param generated      greedy tokens per prompt (1..192)
 * @param pplTokens      scored tokens of Pride and Prejudice (from its start; 0 = none)
 * @param kjvTokens      scored tokens of KJV Genesis (from its start; 0 = none)
 * @param calibTokens    calibration tokens from Emma (for tau, SmoothQuant, Atom)
 * @param epsilons       TAB-Q budgets of the sweep
 * @param percentiles    TS percentiles (tau calibrated per split layer): the first is swept over
 *                       every budget, the others (with extras) run at the default budget
 * @param uniformBits    bit-widths of the uniform per-token baseline
 * @param extras         also run rotation / zstd variants of the default codec, OPSC weight
 *                       plans and the SmoothQuant / Atom baselines
 * @param bitsWindows    text windows for the bits-per-element study (codec only, no quality)
 * @param sweepPpl       measure perplexity for the sweep's extra points too (uniform, non-default
 *                       budgets, other taus, bit sets, rotation); false keeps it to fp32, fp16,
 *                       Q8_0, the default codec (+zstd), OPSC and the baselines
 * @param stageSets      the stage sweep (issue 19): TAB-Q option lists without eps and tau, e.g.
 *                       {@code "bits=2/3/4/5/6/7/8,mean,rot,group=32,ans"}, each run at every budget of
 *                       {@code stageEps} with tau at the first percentile; mean and ans tables are
 *                       calibrated on the calibration text at each split
 * @param stageEps       TAB-Q budgets of the stage sweep
 */
public record EvalOptions(Path model, Path tokenizer, int threads, int[] splits, int prompts, int generated, int pplTokens,
                          int kjvTokens, int calibTokens, List<Double> epsilons, List<Double> percentiles,
                          List<Integer> uniformBits, boolean extras, int bitsWindows, boolean sweepPpl,
                          List<String> stageSets, List<Double> stageEps) {

    public EvalOptions {
        if (model == null) {
            throw new IllegalArgumentException("model is missing");
        }
        check("threads", threads, 1, 64);
        if (splits == null || splits.length == 0) {
            throw new IllegalArgumentException("at least one split layer is needed");
        }
        splits = splits.clone();
        check("prompts", prompts, 1, PromptSet.SIZE);
        check("generated tokens", generated, 1, 192);
        check("Pride and Prejudice tokens", pplTokens, 0, 64_000);
        check("KJV tokens", kjvTokens, 0, 64_000);
        check("calibration tokens", calibTokens, 1, 64_000);
        check("bits-study windows", bitsWindows, 1, 64);
        epsilons = List.copyOf(epsilons);
        percentiles = List.copyOf(percentiles);
        uniformBits = List.copyOf(uniformBits);
        for (double e : epsilons) {
            if (!(e > 0 && e <= 1)) {
                throw new IllegalArgumentException("eps must be in (0, 1], got " + e);
            }
        }
        for (double p : percentiles) {
            if (!(p > 0 && p < 100)) {
                throw new IllegalArgumentException("percentile must be in (0, 100), got " + p);
            }
        }
        for (int b : uniformBits) {
            check("uniform bits", b, 1, 8);
        }
        stageSets = List.copyOf(stageSets);
        stageEps = List.copyOf(stageEps);
        for (double e : stageEps) {
            if (!(e > 0 && e <= 1)) {
                throw new IllegalArgumentException("stage eps must be in (0, 1], got " + e);
            }
        }
        for (String st : stageSets) {
            dev.splitllm.quantization.codec.CodecSpec.parse("tabq:eps=0.001,tau=1," + st); // throws on a bad option list
        }
    }

    /** Every bit-width 2..8 as a TAB-Q option. */
    public static final String FULL_BITS = "bits=2/3/4/5/6/7/8";

    /**
     * The stage combinations of the full sweep: rANS alone on top of rotation, group-wise scales
     * alone and with rANS, the step quantizer with rANS (with rotation, with the mean, both).
     */
    public static final List<String> STAGE_SETS = List.of(
            FULL_BITS + ",rot,ans",
            FULL_BITS + ",group=32",
            FULL_BITS + ",group=32,ans",
            "rot,step,ans",
            "mean,step,ans",
            "mean,rot,step,ans");

    /** TAB-Q budgets of the full stage sweep. */
    public static final List<Double> STAGE_EPS = List.of(3e-4, 1.5e-4, 1e-4, 7e-5);

    /** The headline's stage sweep: the default codec's stages around its budget, and with zstd on prefill frames. */
    public static final List<String> HEADLINE_STAGE_SETS = List.of("mean,rot,step,ans");

    /** TAB-Q budgets of the headline stage sweep. */
    public static final List<Double> HEADLINE_STAGE_EPS = List.of(1e-4, 8e-5, 6e-5);

    /** The smoke configuration: runs in well under a minute on 2 cores once the texts are cached. */
    public static EvalOptions quick() {
        return new EvalOptions(builtIn(), null, 2, new int[] {3}, 4, 16, 255, 0, 510,
                List.of(1e-2, 1e-3), List.of(99.9), List.of(4), false, 2, true,
                List.of(FULL_BITS + ",mean,rot,ans,zstd=prefill"), List.of(3e-4));
    }

    /**
     * The bounded full run behind docs/RESULTS.md (105 configurations, 270 s; sized for a heavily shared
     * 2-core machine): every split layer 1..5, 8 prompts x 24 tokens, one 255-token window of
     * Pride and Prejudice for the main configurations. {@link #headline()} is the 64 x 64 prompt
     * set on the default split and codecs.
     */
    public static EvalOptions full() {
        return new EvalOptions(builtIn(), null, 2, new int[] {1, 2, 3, 4, 5}, 8, 24,
                255, 0, 2040, List.of(1e-2, 3e-3, 1e-3, 3e-4), List.of(99.9, 99.0), List.of(4, 8), true, 8, false,
                STAGE_SETS, STAGE_EPS);
    }

    /**
     * The full 64-prompt x 64-token set at split 3: Q8_0, the paper's TS + TAB-Q (eps 1e-3; + zstd,
     * + rotation) and the default codec's stages at three budgets around the default; KL and
     * agreement only (no perplexity slices, to keep it to minutes on a shared 2-core machine).
     */
    public static EvalOptions headline() {
        return new EvalOptions(builtIn(), null, 2, new int[] {3}, 64, 64,
                0, 0, 2040, List.of(1e-3), List.of(99.9), List.of(), false, 1, false,
                HEADLINE_STAGE_SETS, HEADLINE_STAGE_EPS);
    }

    /** The same options on another model (tokenizer null: the model's own). */
    public EvalOptions withModel(Path model, Path tokenizer) {
        return new EvalOptions(model, tokenizer, threads, splits, prompts, generated, pplTokens, kjvTokens, calibTokens, epsilons,
                percentiles, uniformBits, extras, bitsWindows, sweepPpl, stageSets, stageEps);
    }

    /** The same options with {@code threads} worker threads. */
    public EvalOptions withThreads(int threads) {
        return new EvalOptions(model, tokenizer, threads, splits, prompts, generated, pplTokens, kjvTokens, calibTokens, epsilons,
                percentiles, uniformBits, extras, bitsWindows, sweepPpl, stageSets, stageEps);
    }

    /** The built-in stories15M checkpoint (its tokenizer.bin lies beside it). */
    static Path builtIn() {
        return dev.splitllm.fetch.ModelStore.stories15MDir().resolve(dev.splitllm.fetch.ModelSpec.STORIES15M.modelFile());
    }

    private static void check(String what, int v, int lo, int hi) {
        if (v < lo || v > hi) {
            throw new IllegalArgumentException(what + " must be in " + lo + ".." + hi + ", got " + v);
        }
    }
}
