package dev.splitllm.eval;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CodecTables;
import java.util.ArrayList;
import java.util.List;

/**
 * Binds a codec template to a model and split layer without external text, for the runtime
 * commands (bench link): the calibration text is the model's own greedy continuation of the
 * project's 32 story openings; tau is the 99.9th percentile of |x| at the cut on it, and a
 * {@code mean} / {@code ans} template gets its {@link CodecTables} calibrated there and
 * registered (both halves of an in-process run find them by hash). The evaluation harness
 * calibrates on Emma instead (disjoint from its prompts).
 */
public final class CodecCalibration {
    /** Greedy tokens generated after each story opening. */
    public static final int CONTINUATION = 48;

    private CodecCalibration() {}

    /** The hidden states after every block on the calibration sequences, as from {@link ResidualCapture}. */
    public static List<float[][]> hiddenStates(Transformer fp32, Tokenizer tok) {
        List<float[][]> out = new ArrayList<>();
        for (String story : PromptSet.STORIES) {
            int[] prompt = tok.encode(story, true);
            int n = Math.min(CONTINUATION, fp32.config().seqLen() - prompt.length);
            SegmentState st = fp32.newState(prompt.length + n);
            float[] x = fp32.embed(prompt);
            fp32.forward(st, x, prompt.length);
            int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + n);
            float[] logits = fp32.lastLogits(x, prompt.length);
            for (int i = 0; i < n; i++) {
                int next = Sampler.argmax(logits);
                seq[prompt.length + i] = next;
                float[] h = fp32.embed(new int[] {next});
                fp32.forward(st, h, 1);
                logits = fp32.lastLogits(h, 1);
            }
            out.add(ResidualCapture.afterEachBlock(fp32, seq));
        }
        return out;
    }

    /**
     * {@code template} (a codec string; a tabq template without tau gets the calibrated one) bound
     * to the model at {@code split}: tau filled in, tables calibrated and registered when needed.
     */
    public static CodecSpec bind(Transformer fp32, Tokenizer tok, int split, String template) {
        CodecSpec spec = CodecSpec.parse(template);
        if (spec.kind() != dev.splitllm.quantization.codec.CodecKind.TABQ || (spec.thresholdSplit() && !spec.needsTables())) {
            return spec;
        }
        List<float[][]> hidden = hiddenStates(fp32, tok);
        int d = fp32.config().dim();
        TauCalibrator tau = new TauCalibrator(fp32.config().nLayers());
        int tokens = 0;
        for (float[][] h : hidden) {
            tau.add(h);
            tokens += h[split].length / d;
        }
        if (!spec.thresholdSplit()) {
            spec = CodecSpec.parse(template + ",tau=" + tau.tau(split, TauCalibrator.DEFAULT_PERCENTILE));
        }
        if (!spec.needsTables()) {
            return spec;
        }
        float[] rows = new float[tokens * d];
        int at = 0;
        for (float[][] h : hidden) {
            System.arraycopy(h[split], 0, rows, at, h[split].length);
            at += h[split].length;
        }
        CodecTables tables = CodecTables.register(CodecTables.calibrate(spec, split, rows, tokens, d));
        return spec.withTables(tables.hash());
    }
}
