package dev.splitllm.eval;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The {@code --quick} evaluation on the real model, codec and texts (NEEDS the Austen text:
 * fetched through apt-get on first use, then cached).
 */
class QuickEvalTest {
    static EvalReport report;
    static final List<String> stages = new ArrayList<>();

    @BeforeAll
    static void run() throws IOException {
        report = EvalHarness.run(EvalOptions.quick(), TestModel.full(), TestModel.tokenizer(), TestModel.TEAM,
                EvalTexts.inUserCache(), (stage, done, total) -> {
                    if (stages.isEmpty() || !stages.get(stages.size() - 1).equals(stage)) {
                        stages.add(stage);
                    }
                }, System.nanoTime());
    }

    @Test
    void losslessConfigurationIsExactlyTheUnsplitModel() {
        List<EvalReport.Row> lossless = report.find(3, "f32", "fp32");
        assertEquals(1, lossless.size());
        EvalReport.Row r = lossless.get(0);
        assertEquals(0.0, r.dPpl(), "ΔPPL of the lossless split must be exactly 0");
        assertEquals(0.0, r.meanKl(), "KL of the lossless split must be exactly 0");
        assertEquals(1.0, r.agreement());
        assertEquals(32.0, r.decodeBits());
        assertTrue(report.fp32Ppl() > 1 && Double.isFinite(report.fp32Ppl()));
    }

    @Test
    void tighterBudgetNeverGivesFewerBits() {
        int checked = 0;
        for (int split = 1; split <= 5; split++) {
            double previousPrefill = -1, previousDecode = -1;
            // the study lists q8_0, then each eps in the options' order (1e-2, then 1e-3) with and without zstd
            for (EvalReport.BitsRow b : report.bitsStudy()) {
                if (b.split() != split || !b.codec().startsWith("tabq") || b.codec().contains("zstd")) {
                    continue;
                }
                assertTrue(b.prefillBits() >= previousPrefill, b + " after " + previousPrefill);
                assertTrue(b.decodeBits() >= previousDecode, b + " after " + previousDecode);
                previousPrefill = b.prefillBits();
                previousDecode = b.decodeBits();
                checked++;
            }
        }
        assertEquals(10, checked, "two budgets at five split layers");
        // and in the quality rows: the lower eps costs at least as many bits and loses no more
        List<EvalReport.Row> ts = report.find(3, "f32", "tabq:eps=0.01,");
        List<EvalReport.Row> tight = report.find(3, "f32", "tabq:eps=0.001,");
        assertEquals(1, ts.size());
        assertTrue(tight.size() >= 1);
        assertTrue(tight.get(0).decodeBits() >= ts.get(0).decodeBits());
        assertTrue(tight.get(0).meanKl() <= ts.get(0).meanKl());
    }

    @Test
    void everyCodecIsMeasuredAndReported() {
        for (EvalReport.Row r : report.rows()) {
            assertTrue(Double.isFinite(r.decodeBits()) && Double.isFinite(r.prefillBits()), r.toString());
            assertTrue(r.meanKl() >= 0 && r.agreement() <= 1, r.toString());
        }
        EvalReport.Row q8 = report.find(3, "f32", "q8_0").get(0);
        assertEquals(8.5, q8.decodeBits(), 1e-12);
        assertTrue(q8.meanKl() > 0, "Q8_0 is lossy");
        String md = report.markdown();
        assertTrue(md.contains("| 3 | q8_0 | f32 | `q8_0` | 8.500 | 8.500 |"), md);
        assertTrue(report.klChart(3).startsWith("<svg"));
        assertTrue(md.contains("**Goal check"), md);
        assertTrue(md.matches("(?s).*\\| 3 \\| 8\\.500 \\| .*"), md);
        assertEquals(List.of("texts", "calibration", "configurations", "evaluate", "bits study"), stages);
    }

    @Test
    void stageSweepRunsThroughCalibratedTablesAndTheHeadlineLineHasItsShape() {
        List<EvalReport.Row> staged = new ArrayList<>();
        for (EvalReport.Row r : report.rows()) {
            if (r.family().startsWith("stages:")) {
                staged.add(r);
            }
        }
        assertEquals(1, staged.size(), "quick runs one stage configuration");
        EvalReport.Row s = staged.get(0);
        assertTrue(s.wire().contains(",mean") && s.wire().contains(",ans") && s.wire().contains(",tables="), s.wire());
        assertTrue(s.meanKl() > 0 && Double.isFinite(s.decodeBits()), s.toString());
        // the compact frame header (17 bytes on a decode frame) is on top of the payload bits
        assertEquals(s.decodeBits() + 8.0 * 17 / 288, s.decodeFrameBits(), 1e-9, s.toString());
        EvalReport.Row loose = report.find(3, "f32", "tabq:eps=0.01,").get(0);
        assertTrue(s.meanKl() < loose.meanKl(), "eps 3e-4 with rotation must beat eps 1e-2 in KL");
        assertFalse(report.frontier(3).isEmpty());
        assertTrue(report.headline().matches("headline: codec=tabq:\\S+ bits=\\d+\\.\\d\\d kl=\\S+ agreement=[01]\\.\\d{4} vs q8_0 bits=8\\.50 kl=\\S+"),
                report.headline());
    }
}
