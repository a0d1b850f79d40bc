package dev.splitllm.optimizer;

import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.eval.BitsTally;
import dev.splitllm.eval.CodecWire;
import dev.splitllm.eval.ModelVariant;
import dev.splitllm.eval.QualityStats;
import dev.splitllm.eval.Reference;
import dev.splitllm.eval.SplitConfig;
import dev.splitllm.eval.SplitEvaluator;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.optimizer.profile.WeightQuality;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.FrameCodec;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a {@link CalibrationTable} with the one quality meter, {@link SplitEvaluator#measure},
 * and the one codec round trip ({@link CodecWire}, i.e. the session codec), so every figure is
 * defined exactly as {@code ./splitllm eval} defines it:
 *
 * <ul>
 *   <li>the calibration text is one measured sequence: its first {@link #promptLength}(n) =
 *       min({@value #MAX_PROMPT}, n/2) tokens are the prefill frame, each later token a
 *       one-token decode frame, as the runtime sends them (half the text at most, so both kinds
 *       of frame are measured on short texts too);</li>
 *   <li>for each split l and codec setting: blocks [0, l) of the F32 model, the frames through
 *       the codec, blocks [l, L) on the decoded rows (so their KV cache is built from lossy
 *       states); prefill bits per element from the prefill frame, decode bits per element from
 *       the decode frames;</li>
 *   <li>quality at every position with a next token in the text: top-1 agreement with the
 *       unsplit F32 model's argmax, mean KL(F32 ‖ split) in nats, and the perplexity of the
 *       text's next tokens minus the F32 model's;</li>
 *   <li>weight formats: the whole model converted to each format, unsplit (measured as split 0
 *       with a lossless wire, which is the unsplit forward), same figures.</li>
 * </ul>
 *
 * The codec counts payload and channel-announcement bytes, not the fixed frame header: the
 * table's frameOverheadBytes is that header.
 */
public final class Calibrator {
    private Calibrator() {}

    /** Longest prefill frame of the calibration text. */
    public static final int MAX_PROMPT = 64;
    public static final int MAX_SPECS = 64;

    /** Tokens of an n-token calibration text sent as the prefill frame: min(64, n/2). */
    public static int promptLength(int n) {
        return Math.min(MAX_PROMPT, n / 2);
    }

    /**
     * Calibrates the model at {@code model} on {@code tokens}.
     *
     * @param model         a llama2.c .bin, a .gguf or a Hugging Face directory (through {@link ModelFiles};
     *                      the reference is its F32 conversion)
     * @param tokens        calibration text as token ids (2..seq_len of them)
     * @param specs         codec settings ({@link CodecSpec} strings)
     * @param splits        split layers to measure (empty = every l in [0, L))
     * @param weightFormats formats for the whole-model weight quality rows (F32 is the reference and is skipped)
     * @param threads       engine threads
     * @param text          a description of the text, stored in the table's source
     */
    public static CalibrationTable run(Path model, int[] tokens, List<String> specs, List<Integer> splits,
                                       List<WeightFormat> weightFormats, int threads, String text) throws IOException {
        try (ModelSource src = ModelFiles.open(model)) {
            LlamaConfig c = src.config();
            List<Integer> ls = check(c, tokens, specs, splits); // before loading anything
            ModelWeights f32 = ModelQuantizer.apply(src.load(ModelSlice.all(c.nLayers())), PrecisionPlan.uniform(WeightFormat.F32));
            try (ThreadTeam team = new ThreadTeam(threads)) {
                return run(f32, modelName(model), tokens, specs, ls, weightFormats, team, text);
            }
        }
    }

    /** The same on loaded F32 weights of the whole model. */
    public static CalibrationTable run(ModelWeights f32, String modelName, int[] tokens, List<String> specs, List<Integer> splits,
                                       List<WeightFormat> weightFormats, ThreadTeam team, String text) {
        LlamaConfig c = f32.config();
        List<Integer> ls = check(c, tokens, specs, splits);
        Transformer tf = new Transformer(f32, KernelProvider.best(), team);
        SplitEvaluator meter = new SplitEvaluator(tf, -1); // texts only: no greedy continuation, so no EOS
        int prompt = promptLength(tokens.length);
        Reference ref = meter.text(tokens, prompt);
        ModelVariant base = new ModelVariant("f32", tf);
        List<CodecPoint> points = new ArrayList<>();
        for (int l : ls) {
            for (String spec : specs) {
                QualityStats q = new QualityStats();
                BitsTally bits = new BitsTally();
                meter.measure(new SplitConfig(l, base, new CodecWire(CodecSpec.parse(spec))), ref, q, bits);
                points.add(new CodecPoint(l, spec, bits.prefillBitsPerElement(), bits.decodeBitsPerElement(), q.agreement(), q.meanKl(),
                        q.deltaPerplexity()));
            }
        }
        List<WeightQuality> weights = new ArrayList<>();
        for (WeightFormat f : weightFormats) {
            if (f == WeightFormat.F32) continue;
            Transformer tq = new Transformer(ModelQuantizer.apply(f32, PrecisionPlan.uniform(f)), KernelProvider.best(), team);
            QualityStats q = new QualityStats();
            meter.measure(new SplitConfig(0, new ModelVariant(f.id(), tq), new CodecWire(CodecSpec.fp32())), ref, q, new BitsTally());
            weights.add(new WeightQuality(f.id(), q.agreement(), q.meanKl(), q.deltaPerplexity()));
        }
        Map<String, String> source = new LinkedHashMap<>();
        source.put("text", text);
        source.put("tokens", String.valueOf(tokens.length));
        source.put("prefillTokens", String.valueOf(prompt));
        source.put("codec", "splitllm activation codec (SessionCodec round trip: payload + channel announcement; frame header in frameOverheadBytes)");
        source.put("method", "teacher-forced with the eval meter (SplitEvaluator): the first min(" + MAX_PROMPT + ", n/2) tokens as one"
                + " prefill frame, every later token as a one-token decode frame; blocks [l, L) run on the decoded rows; agreement, KL"
                + " and delta-PPL at every position with a next token, against the unsplit F32 model");
        source.put("date", Instant.now().toString());
        return new CalibrationTable(CalibrationTable.SCHEMA, ModelShape.of(modelName, c), false, source, FrameCodec.overheadBytes(-1),
                points, weights);
    }

    /** A short model name from its path: the file name without extension, or the directory's name. */
    static String modelName(Path model) {
        Path name = model.toAbsolutePath().normalize().getFileName();
        return name == null ? "model" : name.toString().replaceFirst("\\.(bin|gguf|safetensors)$", "");
    }

    private static List<Integer> check(LlamaConfig c, int[] tokens, List<String> specs, List<Integer> splits) {
        int n = tokens.length, L = c.nLayers();
        if (n < 2 || n > c.seqLen()) throw new IllegalArgumentException("calibration needs 2.." + c.seqLen() + " tokens, got " + n);
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) throw new IllegalArgumentException("token id " + t + " outside the vocabulary");
        }
        if (specs.isEmpty() || specs.size() > MAX_SPECS) throw new IllegalArgumentException("need 1.." + MAX_SPECS + " codec specs");
        for (String s : specs) {
            try {
                CodecSpec.parse(s);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("codec '" + s + "': " + e.getMessage(), e);
            }
        }
        List<Integer> ls = splits.isEmpty() ? java.util.stream.IntStream.range(0, L).boxed().toList() : splits;
        for (int l : ls) {
            if (l < 0 || l >= L) throw new IllegalArgumentException("calibration split " + l + " outside [0, " + (L - 1) + "]");
        }
        return ls;
    }
}
