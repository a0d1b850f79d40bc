package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.edge.MoveCostModel;
import dev.splitllm.optimizer.profile.Curve;
import dev.splitllm.optimizer.profile.FormatProfile;
import dev.splitllm.optimizer.profile.LinkProfile;
import org.junit.jupiter.api.Test;

/** The controller starts from the planner's profiles: link, edge and cloud compute per block. */
class MoveCliOptionsTest {
    @Test
    void theProfilesSeedTheCostModel() {
        MoveCostModel costs = new MoveCostModel();
        LinkProfile link = LinkProfile.parse("10mbit", "1gbit", "50ms");
        // Edge: 2 ms for one block over 16 tokens, 0.4 ms per decode token; cloud: 0.1 ms per decode token.
        FormatProfile edge = new FormatProfile("f32", Curve.of(new double[] {16}, new double[] {2}), Curve.of(new double[] {16},
                new double[] {0.4}), 1, 0.01, 1000);
        FormatProfile cloud = new FormatProfile("f32", Curve.of(new double[] {16}, new double[] {1}), Curve.of(new double[] {16},
                new double[] {0.1}), 1, 0.01, 1000);
        MoveCliOptions.seed(costs, link, edge, cloud, 16);
        assertEquals(50, costs.rttMs(), 1e-9);
        assertEquals(1_250, costs.upBytesPerMs(), 1e-9); // 10 Mbit/s = 1,250 bytes per ms
        assertEquals(125_000, costs.downBytesPerMs(), 1e-9);
        assertEquals(0.125, costs.edgePrefillMsPerBlock(), 1e-9);
        assertEquals(0.4, costs.edgeDecodeMsPerBlock(), 1e-9);
        assertEquals(0.1, costs.cloudDecodeMsPerBlock(), 1e-9);
        // Without profiles nothing is known: the session measures everything itself.
        MoveCostModel none = new MoveCostModel();
        MoveCliOptions.seed(none, null, null, null, 16);
        assertTrue(Double.isNaN(none.upBytesPerMs()) && Double.isNaN(none.edgeDecodeMsPerBlock()));
    }
}
