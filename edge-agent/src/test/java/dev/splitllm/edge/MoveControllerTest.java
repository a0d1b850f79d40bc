package dev.splitllm.edge;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.quantization.kv.KvSpec;
import org.junit.jupiter.api.Test;

/** {@link MoveController}: moves only when the predicted saving pays for the move, with hysteresis; memory forces a move. */
class MoveControllerTest {
    static final int LAYERS = 6, KV_DIM = 288;

    /** Measured: an edge 4 ms per block and token, a cloud 1 ms, a 20 ms round trip, 100 Mbit/s. */
    static MoveCostModel slowEdge() {
        return new MoveCostModel().withLink(20, 12_500, 12_500).withCompute(0.5, 4);
    }

    static MoveCostModel withCloud(MoveCostModel c, double cloudMsPerBlock) {
        c.observe(new StepStats(1, 1, 4 * 3, 0, 400, 20 + cloudMsPerBlock * 3, cloudMsPerBlock * 3, 0), 3, LAYERS);
        return c;
    }

    @Test
    void aSlowEdgeHandsBlocksToTheCloudWhenEnoughTokensRemain() {
        MoveController c = new MoveController(0, 5, 2.0, 8);
        MoveCostModel costs = withCloud(slowEdge(), 1);
        // 3 ms saved per block and token: at 200 tokens to go, moving 3 -> 0 saves 1.8 s for a ~60 ms move.
        MoveController.Proposal p = c.decide(costs, KvSpec.FP32, 3, LAYERS, 100, 90, KV_DIM, s -> 0, 200, 20);
        assertNotNull(p);
        assertEquals(0, p.split());
        assertEquals("adaptive", p.reason());
        // With 3 tokens to go the saving (27 ms) is below twice the move's cost: stay.
        assertNull(c.decide(costs, KvSpec.FP32, 3, LAYERS, 100, 90, KV_DIM, s -> 0, 3, 20));
        // Too soon after the last move: stay.
        assertNull(c.decide(costs, KvSpec.FP32, 3, LAYERS, 100, 90, KV_DIM, s -> 0, 200, 2));
    }

    @Test
    void equalComputeOnBothSidesIsNoReasonToMove() {
        MoveController c = MoveController.defaults(5);
        MoveCostModel costs = withCloud(slowEdge(), 4); // the cloud is as slow per block as the edge
        assertNull(c.decide(costs, KvSpec.FP32, 3, LAYERS, 100, 90, KV_DIM, s -> 0, 1000, 100));
    }

    @Test
    void aMemoryBudgetForcesTheDeepestCutThatFits() {
        MoveController c = MoveController.defaults(5);
        MoveCostModel costs = new MoveCostModel(); // nothing measured yet: memory alone decides
        c.memoryBudget(2_500);
        MoveController.Proposal p = c.decide(costs, KvSpec.FP32, 4, LAYERS, 10, 5, KV_DIM, s -> 1_000L * s, 100, 0);
        assertEquals(new MoveController.Proposal(2, "memory"), p);
        c.memoryBudget(Long.MAX_VALUE);
        assertNull(c.decide(costs, KvSpec.FP32, 4, LAYERS, 10, 5, KV_DIM, s -> 1_000L * s, 100, 0));
        assertThrows(IllegalArgumentException.class, () -> c.memoryBudget(-1));
        assertThrows(IllegalArgumentException.class, () -> new MoveController(3, 2, 2, 8));
    }

    @Test
    void aMirrorOnASlowUplinkMovesTheCutTowardTheCloudAndNotOnAFastOne() {
        MoveController c = MoveController.defaults(5);
        // Equal compute per block on both sides: only the mirror's bytes differ between cuts.
        java.util.function.IntToDoubleFunction mirror = s -> 2.0 * s * KV_DIM * 1.1; // ~kivi:8 bytes per token
        MoveCostModel fast = new MoveCostModel().withLink(10, 12_500, 12_500).withCompute(0.5, 1);
        fast.observe(new StepStats(1, 1, 3, 0, 400, 10 + 3, 3, 0), 3, LAYERS); // 1 ms per block on each side
        assertNull(c.decide(fast, KvSpec.DEFAULT, 5, LAYERS, 60, 5, KV_DIM, s -> 0, 80, 20, mirror, 48),
                "at 100 Mbit/s the mirror costs 0.25 ms per token: under 10 % of the token, no move");
        MoveCostModel slow = new MoveCostModel().withLink(150, 125, 125).withCompute(0.5, 1);
        slow.observe(new StepStats(1, 1, 3, 0, 400, 150 + 3, 3, 0), 3, LAYERS);
        MoveController.Proposal p = c.decide(slow, KvSpec.DEFAULT, 5, LAYERS, 60, 5, KV_DIM, s -> 0, 80, 20, mirror, 48);
        assertNotNull(p, "at 1 Mbit/s the mirror costs 25 ms per token at cut 5");
        assertEquals(0, p.split());
        // The same without a mirror: nothing depends on the cut, so no move.
        assertNull(c.decide(slow, KvSpec.DEFAULT, 5, LAYERS, 60, 5, KV_DIM, s -> 0, 80, 20, s -> 0, 0));
    }

    @Test
    void theClassifierIsChargedToTheCloudsStepNotToItsBlocks() {
        // stories15M's shapes: the classifier is worth about 9.3 blocks.
        dev.splitllm.engine.model.LlamaConfig cfg = new dev.splitllm.engine.model.LlamaConfig(288, 768, 6, 6, 6, 32000, 256, 10000f, 1e-5f, true);
        MoveCostModel c = new MoveCostModel().withShapes(cfg);
        assertEquals(9.26, c.headBlocks(), 0.01);
        // A step at cut 5 (one block on the cloud) that took 5.15 ms is 0.5 ms per block, not 5.15.
        c.observe(new StepStats(1, 1, 2.5, 0, 400, 25, 5.15, 0), 5, LAYERS);
        assertEquals(0.5, c.cloudDecodeMsPerBlock(), 0.01);
    }
}
