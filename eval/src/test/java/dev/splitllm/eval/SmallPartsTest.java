package dev.splitllm.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Text windows, thresholds, options, tallies and the chart, without the model. */
class SmallPartsTest {

    @Test
    void paragraphsFollowTheGoldenConvention() {
        String text = "TITLE\n\nBy Someone\n\n\n\nChapter 1\n\n\nIt is a truth\nuniversally known.\n\nEnd.\n";
        assertEquals(List.of("TITLE", "By Someone", "Chapter 1", " It is a truth universally known.", "End. "),
                TextWindows.paragraphs(text));
    }

    @Test
    void windowsStartWithBosAndHoldAtMost255Tokens() {
        int[] stream = new int[600];
        for (int i = 0; i < stream.length; i++) {
            stream[i] = 100 + i;
        }
        List<int[]> w = TextWindows.windows(stream, 1);
        assertEquals(3, w.size());
        assertEquals(256, w.get(0).length);
        assertEquals(1, w.get(1)[0]);
        assertEquals(100 + 255, w.get(1)[1]);
        assertEquals(600 - 510 + 1, w.get(2).length);
    }

    @Test
    void tauIsTheNearestRankPercentileOfMagnitudes() {
        TauCalibrator c = new TauCalibrator(1);
        float[] h = new float[1000];
        for (int i = 0; i < h.length; i++) {
            h[i] = (i % 2 == 0 ? 1 : -1) * (i + 1) / 1000f; // |x| = 0.001 .. 1.000
        }
        c.add(new float[][] {h, h});
        assertEquals(0.999f, c.tau(1, 99.9), 1e-6f);
        assertEquals(0.990f, c.tau(1, 99.0), 1e-6f);
        assertEquals(0.500f, c.tau(0, 50.0), 1e-6f);
        assertEquals(1.0f, c.max(1));
        assertThrows(IllegalArgumentException.class, () -> c.tau(2, 99.9));
        assertThrows(IllegalArgumentException.class, () -> c.tau(1, 100));
        assertThrows(IllegalArgumentException.class, () -> c.add(new float[][] {h}));
    }

    @Test
    void optionsAreBounded() {
        EvalOptions q = EvalOptions.quick();
        assertThrows(IllegalArgumentException.class, () -> new EvalOptions(q.model(), null, 2, new int[] {3}, 65, 16, 0, 0, 10,
                List.of(1e-3), List.of(99.9), List.of(4), false, 1, true, List.of(), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new EvalOptions(q.model(), null, 2, new int[] {3}, 4, 16, 0, 0, 10,
                List.of(0.0), List.of(99.9), List.of(4), false, 1, true, List.of(), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new EvalOptions(q.model(), null, 2, new int[0], 4, 16, 0, 0, 10,
                List.of(1e-3), List.of(99.9), List.of(4), false, 1, true, List.of(), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new EvalOptions(null, null, 2, new int[] {3}, 4, 16, 0, 0, 10,
                List.of(1e-3), List.of(99.9), List.of(4), false, 1, true, List.of(), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new EvalOptions(Path.of("."), null, 2, new int[] {3}, 4, 16, 0, 0, 10,
                List.of(1e-3), List.of(100.0), List.of(9), false, 1, true, List.of(), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new EvalOptions(q.model(), null, 2, new int[] {3}, 4, 16, 0, 0, 10,
                List.of(1e-3), List.of(99.9), List.of(4), false, 1, true, List.of("rot,bogus"), List.of(1e-3)));
        assertThrows(IllegalArgumentException.class, () -> new EvalOptions(q.model(), null, 2, new int[] {3}, 4, 16, 0, 0, 10,
                List.of(1e-3), List.of(99.9), List.of(4), false, 1, true, List.of("rot,ans"), List.of(0.0)));
    }

    @Test
    void tallyKeepsPrefillAndDecodeApart() {
        BitsTally t = new BitsTally();
        t.add(true, 800, 100);
        t.add(false, 40, 10);
        t.add(false, 60, 10);
        assertEquals(8.0, t.prefillBitsPerElement());
        assertEquals(5.0, t.decodeBitsPerElement());
        assertEquals(900.0 / 120, t.bitsPerElement());
        assertThrows(IllegalArgumentException.class, () -> t.add(true, 1, 0));
    }

    @Test
    void chartIsSelfContainedSvgAndSkipsUnplottablePoints() {
        String svg = new SvgChart("t <1>", "x", "y", false, true)
                .add("a", new double[] {1, 2, 3}, new double[] {1e-4, 0, 1e-2}, true)
                .add("b", new double[] {4}, new double[] {Double.NaN}, false)
                .render(600, 400);
        assertTrue(svg.startsWith("<svg") && svg.endsWith("</svg>\n"));
        assertTrue(svg.contains("t &lt;1&gt;"));
        assertEquals(2, svg.split("<circle cx=\"[0-9.]+\" cy=\"[0-9.]+\" r=\"3.5\"", -1).length - 1);
    }

    @Test
    void promptSetInterleavesStoriesAndAustenSentences() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            text.append("Paragraph number ").append(i).append(" has a sentence with quite enough words in it to count. ")
                    .append("Short one.\n\n");
        }
        List<String> p = PromptSet.prompts(text.toString(), 6);
        assertEquals(6, p.size());
        assertEquals(PromptSet.STORIES.get(0), p.get(0));
        assertTrue(p.get(1).startsWith("Paragraph number"), p.get(1));
        assertEquals(PromptSet.STORIES.get(1), p.get(2));
        assertThrows(IllegalArgumentException.class, () -> PromptSet.prompts("Too short.", 4));
    }

    @Test
    void latencyChartReadsTheLinkEmulationCsv() {
        List<String> csv = List.of("mode,codec,rate_mbit,rtt_ms,run,wall_ms,ttft_ms,per_token_ms",
                "edge-only,-,0,0,1,900,NA,14.0",
                "cloud-only,-,1,50,1,1200,80.0,52.0",
                "cloud-only,-,10,50,1,1100,70.0,51.0",
                "split,q8_0,1,50,1,2000,120.0,60.0",
                "split,q8_0,10,50,1,1500,90.0,55.0",
                "split,q8_0,10,20,1,1400,60.0,NA");
        String svg = LatencyChart.render(csv, 50, false);
        assertTrue(svg.contains(">split q8_0<") && svg.contains(">cloud-only<") && svg.contains(">edge-only<"), svg);
        assertThrows(IllegalArgumentException.class, () -> LatencyChart.render(List.of("x,y"), 50, false));
    }
}
