package dev.splitllm.optimizer;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.optimizer.plan.Plan;
import dev.splitllm.optimizer.plan.PlanFile;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.LinkProfile;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.optimizer.report.PlanReport;
import dev.splitllm.optimizer.solve.Limits;
import dev.splitllm.optimizer.solve.Objective;
import dev.splitllm.optimizer.solve.PlanRequest;
import dev.splitllm.optimizer.solve.PlanResult;
import dev.splitllm.optimizer.solve.Planner;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

/** Text and SVG reports; profiles derived for a Llama-3.2-1B-shaped model are labelled derived everywhere. */
class ReportAndDerivedTest {

    static Document parse(String svg) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void textReportHasOneRowPerSplitAndMarksTheChoice() throws Exception {
        long budget = new dev.splitllm.optimizer.cost.MemoryModel(PlannerTest.STORIES.toConfig())
                .edgeBytes(3, dev.splitllm.quantization.weights.WeightFormat.Q4_0, dev.splitllm.quantization.weights.WeightFormat.Q4_0, 64, 32);
        PlanResult r = Planner.plan(PlannerTest.request(LinkProfile.of("sat", 1e6, 1e6, 2000)).limits(Limits.none().withEdgeMemory(budget)).build());
        String text = PlanReport.text(r);
        String[] lines = text.split("\n");
        int rows = 0, chosen = 0;
        for (String line : lines) {
            if (line.matches("[* ] +\\d+ .*")) rows++;
            if (line.startsWith("*")) chosen++;
        }
        assertEquals(7, rows, text);
        assertEquals(1, chosen, text);
        assertTrue(text.contains("chosen"), text);
        assertTrue(text.contains("edge memory") && text.contains("MB >"), "infeasible splits must say why:\n" + text);
        assertTrue(text.contains("limits: edge memory <= "), text);
        assertFalse(text.contains("DERIVED"), text);
        String svg = PlanReport.svg(r);
        Document doc = parse(svg);
        assertEquals("svg", doc.getDocumentElement().getNodeName());
        assertEquals(2, doc.getElementsByTagName("polyline").getLength());
        assertTrue(svg.contains("edge budget"), svg);
        assertTrue(svg.contains("chosen l=" + r.best().split()), svg);
        assertTrue(svg.contains("stroke-dasharray=\"6,4\""), "budget line");
    }

    @Test
    void infeasibleReportNamesTheBindingConstraint() throws Exception {
        PlanResult r = Planner.plan(PlannerTest.request(LinkProfile.of("wifi", 1e7, 1e7, 20)).limits(Limits.none().withEdgeMemory(1_000_000)).build());
        String text = PlanReport.text(r);
        assertTrue(text.contains("NO FEASIBLE PLAN"), text);
        assertTrue(text.contains("binds: edge memory: smallest configuration needs"), text);
        String svg = PlanReport.svg(r);
        parse(svg);
        assertTrue(svg.contains("no feasible plan"));
    }

    @Test
    void derivedLlama1bProfilesArePlannableAndLabelled() throws Exception {
        ModelShape big = DerivedProfiles.llama32_1b();
        DeviceProfile edge = DerivedProfiles.scale(PlannerTest.device("edge", 2.0).named("phone"), big);
        DeviceProfile cloud = DerivedProfiles.scale(PlannerTest.device("cloud", 0.1), big);
        CalibrationTable cal = DerivedProfiles.scale(PlannerTest.calibration(), big);
        assertTrue(edge.derived() && cloud.derived() && cal.derived());
        assertEquals(big, edge.model());
        assertTrue(edge.measuredOn().get("derivedFrom").contains("stories15M"));
        assertEquals(16 * 2, cal.points().size());
        assertEquals(cal.point(15, "q8").agreement(), PlannerTest.calibration().point(5, "q8").agreement());
        assertTrue(ProfileJson.toJson(edge).contains("\"derived\" : true"));
        // Decode cost grows with the context up to the target's seq_len, and per-block cost scales up with the model.
        var f32 = edge.format(dev.splitllm.quantization.weights.WeightFormat.F32);
        double[] x = f32.decodeLayerMs().x();
        assertEquals(131071, x[x.length - 1]);
        assertTrue(f32.decodeLayerMs().at(100_000) > f32.decodeLayerMs().at(32));
        assertTrue(f32.decodeLayerMs().at(32) > PlannerTest.device("edge", 2.0).format(dev.splitllm.quantization.weights.WeightFormat.F32).decodeLayerMs().at(32));
        PlanRequest req = PlanRequest.builder(big, edge, cloud, LinkProfile.parse("20mbit", "50mbit", "40ms"), cal)
                .objective(Objective.MAX_SEQ_LEN)
                .limits(Limits.none().withEdgeMemory(dev.splitllm.optimizer.profile.Units.parseBytes("3GB")).withMaxMsPerToken(2000))
                .build();
        PlanResult r = Planner.plan(req);
        assertTrue(r.feasible(), r.summary());
        assertTrue(r.best().seqLen() < 131072 || r.best().split() < 16, r.summary());
        Plan p = PlanFile.of(r);
        assertTrue(p.derived());
        assertTrue(PlanFile.toJson(p).contains("\"derived\" : true"));
        assertTrue(PlanReport.text(r).contains("DERIVED"));
        assertTrue(PlanReport.svg(r).contains("DERIVED estimate"));
        parse(PlanReport.svg(r));
        // Derived inputs for one model are refused for another.
        PlanRequest wrong = PlanRequest.builder(PlannerTest.STORIES, edge, cloud, LinkProfile.parse("20mbit", "50mbit", "40ms"), cal).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Planner.plan(wrong));
        assertTrue(e.getMessage().contains("llama-3.2-1b-shape"), e.getMessage());
    }

    @Test
    void benchmarkRequestPlansAndReportsSize() {
        PlanRequest q = PlanBenchmark.request32();
        assertEquals(32, q.model().nLayers());
        PlanResult r = Planner.plan(q);
        assertTrue(r.feasible(), r.summary());
        assertEquals(32L * 4 * 4 * 6 * 7 + 4 * 7, r.evaluated() + r.pruned(), "every grid point (all-edge: one per Q_w1 and length) is evaluated or pruned");
        assertTrue(r.pruned() > 0, "the 4 GB edge budget prunes deep f32 splits");
    }
}
