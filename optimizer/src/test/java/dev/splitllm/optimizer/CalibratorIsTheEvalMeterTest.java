package dev.splitllm.optimizer;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.LoadedModel;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.eval.BitsTally;
import dev.splitllm.eval.CodecWire;
import dev.splitllm.eval.ModelVariant;
import dev.splitllm.eval.QualityStats;
import dev.splitllm.eval.Reference;
import dev.splitllm.eval.SplitConfig;
import dev.splitllm.eval.SplitEvaluator;
import dev.splitllm.fetch.ModelStore;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.WeightQuality;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The calibrator and {@code ./splitllm eval} measure with one meter: for the same model, text,
 * split and codec, every figure of a calibration point is exactly what {@link SplitEvaluator}
 * reports when called directly (real stories15M, real codec, session channel mode included).
 */
class CalibratorIsTheEvalMeterTest {
    static final Path MODEL = ModelStore.stories15MDir().resolve("stories15M.bin");
    static final String TEXT = "Tom had a red kite. One windy day the kite flew so high that it got stuck in a tall tree. "
            + "His friend Mia found a long stick and together they pulled the kite down.";

    @Test
    void calibratorFiguresEqualTheEvalMetersFiguresExactly() throws IOException {
        LoadedModel m = ModelFiles.load(MODEL, ModelSlice.all(6));
        int[] ids = m.tokenizer().encode(TEXT, true);
        List<String> specs = List.of("tabq:eps=3e-3,tau=2,channels=session", "q8_0");
        List<Integer> splits = List.of(1, 4);
        CalibrationTable t = Calibrator.run(MODEL, ids, specs, splits, List.of(WeightFormat.Q8_0), 2, "test story");
        int prompt = Math.min(64, ids.length / 2);
        assertEquals(String.valueOf(prompt), t.source().get("prefillTokens"));
        try (ThreadTeam team = new ThreadTeam(2)) {
            Transformer tf = new Transformer(m.weights(), KernelProvider.best(), team);
            SplitEvaluator meter = new SplitEvaluator(tf, m.tokenizer().eos());
            Reference ref = meter.text(ids, prompt);
            for (int l : splits) {
                for (String spec : specs) {
                    QualityStats q = new QualityStats();
                    BitsTally bits = new BitsTally();
                    meter.measure(new SplitConfig(l, new ModelVariant("f32", tf), new CodecWire(CodecSpec.parse(spec))), ref, q, bits);
                    assertEquals(1, bits.prefillFrames());
                    assertEquals(ids.length - prompt, bits.decodeFrames());
                    CodecPoint p = t.point(l, spec);
                    String where = "split " + l + ", " + spec;
                    assertEquals(bits.prefillBitsPerElement(), p.prefillBitsPerElement(), where);
                    assertEquals(bits.decodeBitsPerElement(), p.decodeBitsPerElement(), where);
                    assertEquals(q.agreement(), p.agreement(), where);
                    assertEquals(q.meanKl(), p.meanKl(), where);
                    assertEquals(q.deltaPerplexity(), p.deltaPpl(), where);
                    assertTrue(p.meanKl() > 0 && p.deltaPpl() != 0, "a lossy codec must show in the figures: " + p);
                }
            }
            // Whole-model weight quality: the converted model, unsplit (split 0, lossless wire).
            Transformer q8 = new Transformer(ModelQuantizer.apply(m.weights(), PrecisionPlan.uniform(WeightFormat.Q8_0)),
                    KernelProvider.best(), team);
            QualityStats q = new QualityStats();
            meter.measure(new SplitConfig(0, new ModelVariant("q8_0", q8), new CodecWire(CodecSpec.fp32())), ref, q, new BitsTally());
            WeightQuality w = t.weight(WeightFormat.Q8_0);
            assertEquals(q.agreement(), w.agreement());
            assertEquals(q.meanKl(), w.meanKl());
            assertEquals(q.deltaPerplexity(), w.deltaPpl());
            assertTrue(w.meanKl() > 0);
        }
    }
}
