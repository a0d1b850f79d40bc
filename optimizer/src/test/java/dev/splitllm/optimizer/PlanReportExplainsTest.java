package dev.splitllm.optimizer;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.optimizer.profile.LinkProfile;
import dev.splitllm.optimizer.report.PlanReport;
import dev.splitllm.optimizer.solve.Limits;
import dev.splitllm.optimizer.solve.PlanResult;
import dev.splitllm.optimizer.solve.Planner;
import dev.splitllm.optimizer.solve.SplitRow;
import dev.splitllm.quantization.weights.WeightFormat;
import org.junit.jupiter.api.Test;

/** The report names the limit each infeasible point breaks, and says why when "no split" wins. */
class PlanReportExplainsTest {

    @Test
    void everyInfeasiblePointOfTheChartNamesTheLimitItBreaks() {
        long budget = new dev.splitllm.optimizer.cost.MemoryModel(PlannerTest.STORIES.toConfig())
                .edgeBytes(3, WeightFormat.Q4_0, WeightFormat.Q4_0, 64, 32);
        PlanResult r = Planner.plan(PlannerTest.request(LinkProfile.of("sat", 1e6, 1e6, 2000)).limits(Limits.none().withEdgeMemory(budget)).build());
        String svg = PlanReport.svg(r);
        long infeasible = r.splits().stream().filter(row -> !row.feasible() && row.candidate() != null).count();
        assertTrue(infeasible > 0, "the budget leaves some splits out");
        assertEquals(infeasible, svg.split(">breaks ", -1).length - 1, svg);
        for (SplitRow row : r.splits()) {
            if (!row.feasible() && row.candidate() != null) {
                assertTrue(svg.contains("<title>" + row.reason().replace("<", "&lt;").replace(">", "&gt;") + "</title>"),
                        "the full reason is the label's tooltip: " + row.reason());
            }
        }
        assertTrue(svg.contains(">breaks edge memory<"), svg);
    }

    @Test
    void saysWhyNoSplitWins() {
        // A 2-second round trip and no memory limit: running every block on the edge wins.
        PlanResult r = Planner.plan(PlannerTest.request(LinkProfile.of("sat", 1e6, 1e6, 2000)).build());
        assertEquals(6, r.best().split(), r.summary());
        String why = PlanReport.noSplitExplanation(r);
        assertTrue(why.startsWith("no split wins: run every block on the edge (split 6; no link, while every split token waits for a"
                + " 2000.0 ms round trip)"), why);
        assertTrue(why.contains("ms/token for the best split (layer "), why);
    }

    @Test
    void saysNothingWhenTheModelIsSplit() {
        PlanResult r = Planner.plan(PlannerTest.request(LinkProfile.of("lan", 1e9, 1e9, 0.1)).build());
        if (r.best().split() > 0 && r.best().split() < 6) {
            assertEquals("", PlanReport.noSplitExplanation(r));
        } else {
            assertFalse(PlanReport.noSplitExplanation(r).isEmpty(), r.summary());
        }
    }
}
