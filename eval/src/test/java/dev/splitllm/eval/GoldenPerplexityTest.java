package dev.splitllm.eval;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Golden perplexities of the unsplit fp32 model (docs/MODEL.md, "Golden perplexities"): the first
 * 8,000 tokens of Pride and Prejudice (PPL 397.1) and the first 4,000 of KJV Genesis (639.7),
 * windows of 255 tokens after BOS, paragraphs (verses for the KJV) joined with token 13.
 * NEEDS the texts (apt-get on first use, then cached). The slowest tests of the eval suite.
 */
class GoldenPerplexityTest {

    @Test
    void prideAndPrejudiceFirst8000Tokens() throws IOException {
        String text = EvalTexts.inUserCache().austen(EvalTexts.Novel.PRIDE_AND_PREJUDICE);
        int[] stream = TextWindows.stream(TestModel.tokenizer(), TextWindows.paragraphs(text), 8000);
        assertEquals(8000, stream.length);
        List<int[]> windows = TextWindows.windows(stream, 1);
        assertEquals(32, windows.size());
        SplitEvaluator ev = new SplitEvaluator(TestModel.transformer(), TestModel.tokenizer().eos());
        PerplexityStats s = new PerplexityStats();
        for (int[] w : windows) {
            ev.perplexity(w, s);
        }
        assertEquals(8000, s.tokens());
        assertEquals(GOLDEN_PPL, s.perplexity(), 0.5, "mean NLL " + s.meanNll());
    }

    @Test
    void kjvGenesisFirst4000Tokens() throws IOException {
        int[] stream = TextWindows.stream(TestModel.tokenizer(), EvalTexts.inUserCache().kjvBook("Ge"), 4000);
        SplitEvaluator ev = new SplitEvaluator(TestModel.transformer(), TestModel.tokenizer().eos());
        PerplexityStats s = new PerplexityStats();
        for (int[] w : TextWindows.windows(stream, 1)) {
            ev.perplexity(w, s);
        }
        assertEquals(4000, s.tokens());
        assertEquals(639.7, s.perplexity(), 0.5, "mean NLL " + s.meanNll());
    }

    static final double GOLDEN_PPL = 397.1;
}
