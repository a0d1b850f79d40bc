package dev.splitllm.optimizer;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.engine.draft.DraftPolicy;
import dev.splitllm.optimizer.cost.DraftProfile;
import dev.splitllm.optimizer.cost.DraftedDecode;
import dev.splitllm.optimizer.cost.Latency;
import dev.splitllm.optimizer.cost.LatencyModel;
import dev.splitllm.optimizer.cost.MemoryModel;
import dev.splitllm.optimizer.cost.PayloadModel;
import dev.splitllm.optimizer.plan.Plan;
import dev.splitllm.optimizer.plan.PlanFile;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.LinkProfile;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.optimizer.report.PlanReport;
import dev.splitllm.optimizer.solve.Candidate;
import dev.splitllm.optimizer.solve.Limits;
import dev.splitllm.optimizer.solve.PlanRequest;
import dev.splitllm.optimizer.solve.PlanResult;
import dev.splitllm.optimizer.solve.Planner;
import dev.splitllm.quantization.weights.WeightFormat;
import org.junit.jupiter.api.Test;

/**
 * The drafter in the latency model and the plan: speculation across the cut wins on a slow
 * round trip with a good drafter, never with a poor one, and only within the limits.
 */
class DraftPlanTest {
    static final LinkProfile WAN = LinkProfile.of("wan", 1e7, 1e7, 50);
    /** A Q4_0 copy of stories15M as the drafter: about the fixture edge's all-edge q4_0 step per draft, 12.4 MB. */
    static final DraftProfile MODEL = new DraftProfile("model", 0.85, 10, 12_400_000, DraftProfile.DEFAULT_MAX_K);
    static final DraftProfile POOR = new DraftProfile("model", 0.05, 10, 12_400_000, DraftProfile.DEFAULT_MAX_K);

    /**
     * The fixture edge is slow (2 ms per block) and the cloud fast; the edge budget (24 MB) rules out
     * the all-edge f32 and f16 plans, the agreement floor (0.991) the all-edge q8_0 and q4_0 ones:
     * the plan must cross the 50 ms link.
     */
    static PlanRequest.Builder request(DraftProfile drafter) {
        return PlannerTest.request(WAN).limits(Limits.none().withEdgeMemory(24_000_000).withMinAgreement(0.991)).draft(drafter);
    }

    @Test
    void aGoodDrafterOnASlowRoundTripIsChosenWithSeveralDrafts() {
        PlanResult plain = Planner.plan(request(null).build());
        PlanResult r = Planner.plan(request(MODEL).build());
        Candidate p = plain.best(), b = r.best();
        assertTrue(p.split() < 6 && !p.drafting(), plain.summary());
        assertTrue(b.drafting(), r.summary());
        assertEquals("model", b.draft());
        assertTrue(b.draftK() >= 2, r.summary());
        assertEquals(MODEL.tokensPerRoundTrip(b.draftK()), b.tokensPerRoundTrip(), 1e-12);
        assertEquals(DraftPolicy.tokensPerStep(0.85, b.draftK()), b.tokensPerRoundTrip(), 1e-12);
        assertTrue(b.msPerToken() < p.msPerToken(), b.msPerToken() + " ms/token drafting vs " + p.msPerToken() + " plain");
        assertTrue(b.msPerToken() < 0.75 * p.msPerToken(), "one round trip for several tokens: " + r.summary() + " vs " + plain.summary());
        // The same configuration without the drafter, and the drafter's bytes on the edge.
        Candidate same = Planner.enumerate(request(null).build()).stream()
                .filter(c -> c.describe().equals(b.describe())).findFirst().orElseThrow();
        assertEquals(same.edgeBytes() + MODEL.residentBytes(), b.edgeBytes());
        assertTrue(b.msPerToken() < same.msPerToken());
        assertEquals(same.ttftMs(), b.ttftMs(), 0.0, "prefill does not speculate");
        assertEquals(same.agreement(), b.agreement(), 0.0, "greedy verification keeps the plain tokens");
        assertTrue(b.edgeBytes() <= 24_000_000);
        // Reported as asked.
        assertTrue(r.summary().endsWith(" draft=model k=" + b.draftK()), r.summary());
        assertFalse(plain.summary().contains("draft="), plain.summary());
        String line = PlanReport.draftLine(r);
        assertTrue(line.matches("draft: drafter=model k=" + b.draftK() + " alpha=0\\.85 tokens-per-round-trip=\\d+\\.\\d\\d \\(\\+12\\.4 MB edge\\)"), line);
        assertTrue(PlanReport.text(r).contains(line), PlanReport.text(r));
        assertTrue(PlanReport.text(r).contains("drafter: model alpha=0.85"), PlanReport.text(r));
        assertFalse(PlanReport.text(plain).contains("draft"), PlanReport.text(plain));
        System.out.println(PlanReport.text(r));
    }

    @Test
    void aPoorDrafterIsNotUsed() {
        PlanResult plain = Planner.plan(request(null).build());
        PlanResult r = Planner.plan(request(POOR).build());
        assertFalse(r.best().drafting(), r.summary());
        assertEquals(0, r.best().draftK());
        assertEquals(1.0, r.best().tokensPerRoundTrip());
        assertEquals(plain.best(), r.best(), "the plain plan, as without a drafter");
        assertTrue(r.summary().endsWith(" draft=none k=0"), r.summary());
        assertTrue(PlanReport.draftLine(r).startsWith("draft: drafter=model not used"), PlanReport.draftLine(r));
        assertEquals(plain.evaluated(), r.evaluated(), "k = 0 everywhere: no drafting candidate at all");
    }

    @Test
    void aDrafterThatDoesNotFitTheEdgeIsNotUsed() {
        PlanResult plain = Planner.plan(request(null).build());
        DraftProfile huge = new DraftProfile("model", 0.85, 10, 1L << 40, 8);
        PlanResult r = Planner.plan(request(huge).build());
        assertEquals(plain.best(), r.best(), r.summary());
        PlanResult free = Planner.plan(request(new DraftProfile("ngram", 0.85, 0.01, 0, 8)).build());
        assertTrue(free.best().drafting() && free.best().draftK() >= 2, free.summary());
    }

    @Test
    void withoutARoundTripThereIsNothingToSpeculateAcross() {
        // A huge RTT and no limits: all-edge wins with or without a drafter.
        PlanResult r = Planner.plan(PlannerTest.request(LinkProfile.of("satellite", 1e6, 1e6, 2000)).draft(MODEL).build());
        assertEquals(6, r.best().split(), r.summary());
        assertFalse(r.best().drafting());
        assertTrue(PlanReport.draftLine(r).contains("all-edge"), PlanReport.draftLine(r));
    }

    @Test
    void aDraftStepOfZeroDraftsIsThePlainStepAndBestKMinimisesTheStepPerToken() {
        PlanRequest q = request(MODEL).build();
        LatencyModel lat = new LatencyModel(q.edge(), q.cloud(), q.link(), 6, 32);
        PayloadModel pay = new PayloadModel(288, q.calibration().frameOverheadBytes());
        CodecPoint pt = q.calibration().point(2, "q8");
        Latency plain = lat.decode(2, WeightFormat.Q8_0, WeightFormat.F32, "q8", pay.decodeBits(pt), 63);
        Latency zero = lat.draftStep(2, WeightFormat.Q8_0, WeightFormat.F32, "q8", pay.draftBits(pt, 0), 63, 0, MODEL.msPerDraft());
        assertEquals(plain, zero);
        Latency four = lat.draftStep(2, WeightFormat.Q8_0, WeightFormat.F32, "q8", pay.draftBits(pt, 4), 63, 4, MODEL.msPerDraft());
        assertEquals(5 * plain.edgeMs() + 4 * MODEL.msPerDraft(), four.edgeMs(), 1e-9);
        assertEquals(5 * plain.cloudMs(), four.cloudMs(), 1e-9);
        assertTrue(four.linkMs() > plain.linkMs() && four.linkMs() < plain.linkMs() + 1, "one round trip, a longer frame");
        DraftedDecode best = DraftedDecode.best(lat, pay, MODEL, 2, WeightFormat.Q8_0, WeightFormat.F32, pt, 63);
        for (int k = 0; k <= MODEL.maxK(); k++) {
            double ms = lat.draftStep(2, WeightFormat.Q8_0, WeightFormat.F32, "q8", pay.draftBits(pt, k), 63, k, MODEL.msPerDraft()).totalMs()
                    / MODEL.tokensPerRoundTrip(k);
            assertTrue(best.msPerToken() <= ms, "k=" + k);
        }
        assertThrows(IllegalArgumentException.class,
                () -> lat.draftStep(6, WeightFormat.Q8_0, WeightFormat.Q8_0, "none", 0, 63, 1, 1));
        assertEquals(100, new MemoryModel(PlannerTest.STORIES.toConfig()).edgeBytesWithDrafter(100, null));
        assertEquals(1.0, MODEL.tokensPerRoundTrip(0));
        assertThrows(IllegalArgumentException.class, () -> new DraftProfile("model", 1.2, 1, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> new DraftProfile("model", 0.5, 1, 0, 0));
    }

    @Test
    void planFilesCarryTheDrafterAndOldPlansStillRead() {
        Plan p = PlanFile.of(Planner.plan(request(MODEL).build()));
        assertEquals("model", p.draft());
        assertTrue(p.draftK() >= 2);
        assertTrue(p.predicted().tokensPerRoundTrip() > 2);
        String json = PlanFile.toJson(p);
        assertTrue(json.contains("\"draft\" : \"model\""), json);
        assertTrue(json.contains("\"tokensPerRoundTrip\""), json);
        assertEquals(p, PlanFile.parse(json));
        // A plan without a drafter; and one written before the draft fields existed.
        Plan plain = PlanFile.of(Planner.plan(request(null).build()));
        assertNull(plain.draft());
        assertEquals(0, plain.draftK());
        assertEquals(1.0, plain.predicted().tokensPerRoundTrip());
        assertEquals(plain, PlanFile.parse(PlanFile.toJson(plain)));
        ObjectNode old = ProfileJson.mapper().valueToTree(plain);
        old.remove("draft");
        old.remove("draftK");
        ((ObjectNode) old.get("predicted")).remove("tokensPerRoundTrip");
        assertEquals(plain, PlanFile.parse(old.toString()));
        // Inconsistent draft fields are named.
        ObjectNode n = ProfileJson.mapper().valueToTree(p);
        n.put("draftK", 0);
        rejects(n.toString(), "with draftK 0");
        n = ProfileJson.mapper().valueToTree(plain);
        n.put("draftK", 3);
        rejects(n.toString(), "needs a drafter");
        n = ProfileJson.mapper().valueToTree(p);
        n.put("draft", 7);
        rejects(n.toString(), "\"draft\" must be a string or null");
        n = ProfileJson.mapper().valueToTree(p);
        ((ObjectNode) n.get("predicted")).put("tokensPerRoundTrip", 0.5);
        rejects(n.toString(), "tokensPerRoundTrip must be in [1,");
        n = ProfileJson.mapper().valueToTree(p);
        ((ObjectNode) n.get("predicted")).put("tokensPerRoundTrip", p.draftK() + 1.5);
        rejects(n.toString(), "exceeds draftK + 1");
    }

    private static void rejects(String json, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PlanFile.parse(json));
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should mention '" + fragment + "'");
    }
}
