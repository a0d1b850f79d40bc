package dev.splitllm.eval;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.draft.Drafter;
import dev.splitllm.engine.draft.ModelDrafter;
import dev.splitllm.engine.draft.NgramDrafter;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Acceptance rates of the real drafters on stories15M, and the cut row a drafter reads. */
class DraftAcceptanceTest {
    static DraftAcceptance meter() {
        return new DraftAcceptance(TestModel.transformer(), TestModel.tokenizer());
    }

    @Test
    void aQ40CopyOfTheModelAgreesWithItMostOfTheTime() throws IOException {
        AtomicLong last = new AtomicLong();
        DraftAcceptance.Result r;
        try (ModelDrafter d = ModelDrafter.open(TestModel.checkpoint(), WeightFormat.Q4_0, 256, 1)) {
            r = meter().measure(d, 3, DraftAcceptance.DEFAULT_POSITIONS, (stage, done, total) -> {
                assertEquals(DraftAcceptance.STAGE, stage);
                assertEquals(last.get() + 1, done, "one progress call per position");
                last.set(done);
            });
        }
        System.out.println("draft acceptance, stories15M: " + r.describe());
        assertEquals(DraftAcceptance.DEFAULT_POSITIONS, r.positions());
        assertEquals(r.positions(), last.get());
        assertEquals(-1, r.cut(), "a draft model reads no cut row");
        assertEquals(1.0, r.hitRate(), "a draft model always guesses");
        assertTrue(r.alpha() > 0.6, r.describe());
        assertTrue(r.msPerCall() > 0, r.describe());
        assertTrue(r.residentBytes() > 5_000_000 && r.residentBytes() < 30_000_000, r.describe());
    }

    @Test
    void theNgramLookupGuessesSometimes() {
        DraftAcceptance.Result r = meter().measure(new NgramDrafter(), 3, DraftAcceptance.DEFAULT_POSITIONS, EvalListener.NONE);
        System.out.println("draft acceptance, stories15M: " + r.describe());
        assertEquals(DraftAcceptance.DEFAULT_POSITIONS, r.positions());
        assertTrue(r.alpha() >= 0 && r.alpha() <= 1, r.describe());
        assertTrue(r.hitRate() >= r.alpha() && r.hitRate() <= 1, r.describe());
        assertTrue(r.guesses() > 0, "greedy stories repeat themselves: " + r.describe());
        assertEquals(0, r.residentBytes());
    }

    /** A drafter that reads the cut row at the last block and applies the model's own head: it must agree everywhere. */
    @Test
    void theCutRowIsTheHiddenStateOfTheHistorysLastToken() {
        Transformer tf = TestModel.transformer();
        int layers = tf.config().nLayers();
        Drafter head = new Drafter() {
            @Override
            public String name() {
                return "head";
            }

            @Override
            public boolean score(int[] history, int length, float[] cutRow, float[] logits) {
                tf.logits(cutRow, 0, logits);
                return true;
            }

            @Override
            public boolean needsCutRow() {
                return true;
            }

            @Override
            public long residentBytes() {
                return 0;
            }
        };
        DraftAcceptance.Result r = meter().measure(head, layers, 48, EvalListener.NONE);
        assertEquals(layers, r.cut());
        assertEquals(1.0, r.alpha(), r.describe());
        assertThrows(IllegalArgumentException.class, () -> meter().measure(head, layers + 1, 8, EvalListener.NONE));
        assertThrows(IllegalArgumentException.class, () -> meter().measure(new NgramDrafter(), 0, 0, EvalListener.NONE));
    }
}
