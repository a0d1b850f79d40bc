package dev.splitllm.optimizer;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.optimizer.plan.Plan;
import dev.splitllm.optimizer.plan.PlanFile;
import dev.splitllm.optimizer.profile.LinkProfile;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.optimizer.solve.PlanResult;
import dev.splitllm.optimizer.solve.Planner;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** plan.json round trips, and malformed or inconsistent plans are rejected with messages that name the problem. */
class PlanFileTest {
    @TempDir
    Path dir;

    static Plan plan() {
        PlanResult r = Planner.plan(PlannerTest.request(LinkProfile.of("lan", 1e9, 1e9, 0.2)).build());
        Plan p = PlanFile.of(r);
        assertTrue(p.split() < 6, "the fixture plan must cross the link");
        return p;
    }

    @Test
    void roundTrips() throws IOException {
        Plan p = plan();
        Path f = dir.resolve("plan.json");
        PlanFile.write(f, p);
        Plan back = PlanFile.read(f);
        assertEquals(p, back);
        String json = Files.readString(f);
        assertTrue(json.contains("\"schema\" : \"splitllm.plan/1\""), json);
        assertTrue(json.contains("\"edgeProfile\" : \"sha256:"), json);
        LlamaConfig cfg = PlannerTest.STORIES.toConfig();
        assertEquals(p, PlanFile.read(f, cfg));
        PrecisionPlan pp = back.precisionPlan();
        assertEquals(p.split(), pp.split());
        assertEquals(WeightFormat.parse(p.edgeFormat()), pp.edge());
        // An all-edge plan round-trips too.
        Plan allEdge = PlanFile.of(Planner.plan(PlannerTest.request(LinkProfile.of("sat", 1e6, 1e6, 2000)).build()));
        assertEquals(6, allEdge.split());
        assertEquals("none", allEdge.codec());
        assertEquals(allEdge, PlanFile.parse(PlanFile.toJson(allEdge)));
    }

    @Test
    void fingerprintsFollowTheInputs() {
        Plan a = plan();
        Plan b = PlanFile.of(Planner.plan(PlannerTest.request(LinkProfile.of("lan", 1e9, 1e9, 0.3)).build()));
        assertEquals(a.inputs().get("edgeProfile"), b.inputs().get("edgeProfile"));
        assertNotEquals(a.inputs().get("link"), b.inputs().get("link"));
        assertEquals(ProfileJson.fingerprint(LinkProfile.of("lan", 1e9, 1e9, 0.2)), a.inputs().get("link"));
    }

    private String mutate(Consumer<ObjectNode> edit) {
        ObjectNode n = ProfileJson.mapper().valueToTree(plan());
        edit.accept(n);
        return n.toString();
    }

    private void rejects(String json, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PlanFile.parse(json));
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should mention '" + fragment + "'");
    }

    @Test
    void rejectsMalformedPlans() {
        rejects("{", "not valid JSON");
        rejects("[]", "must be a JSON object");
        rejects(mutate(n -> n.put("schema", "splitllm.plan/2")), "unsupported schema \"splitllm.plan/2\"");
        rejects(mutate(n -> n.remove("schema")), "missing field \"schema\"");
        rejects(mutate(n -> n.remove("split")), "missing field \"split\"");
        rejects(mutate(n -> ((ObjectNode) n.get("predicted")).remove("msPerToken")), "missing field \"predicted.msPerToken\"");
        rejects(mutate(n -> ((ObjectNode) n.get("model")).remove("nLayers")), "missing field \"model.nLayers\"");
        rejects(mutate(n -> n.put("split", "three")), "\"split\" must be a 32-bit integer");
        rejects(mutate(n -> n.put("split", 1e12)), "\"split\" must be a 32-bit integer");
        rejects(mutate(n -> n.put("surprise", 1)), "unknown field \"surprise\"");
        rejects(mutate(n -> n.put("derived", "no")), "\"derived\" must be true or false");
    }

    @Test
    void rejectsInconsistentPlans() {
        rejects(mutate(n -> n.put("split", 7)), "split 7 is outside [0, 6]");
        rejects(mutate(n -> n.put("split", -1)), "split -1 is outside");
        rejects(mutate(n -> n.put("edgeFormat", "q3_k")), "unknown weight format 'q3_k'");
        rejects(mutate(n -> n.put("cloudFormat", "int8")), "cloudFormat: unknown weight format 'int8'");
        rejects(mutate(n -> n.put("maxSeqLen", 4096)), "maxSeqLen 4096 outside [2, 256]");
        rejects(mutate(n -> n.put("promptTokens", 10_000)), "promptTokens 10000");
        rejects(mutate(n -> n.put("codec", "none")), "needs a codec");
        rejects(mutate(n -> {
            n.put("split", 6);
            n.put("cloudFormat", n.get("edgeFormat").asText());
        }), "codec must be \"none\"");
        rejects(mutate(n -> {
            n.put("split", 6);
            n.put("codec", "none");
            n.put("edgeFormat", "q4_0");
            n.put("cloudFormat", "f32");
        }), "cloudFormat must equal edgeFormat");
        rejects(mutate(n -> n.put("objective", "fastest")), "unknown objective 'fastest'");
        rejects(mutate(n -> ((ObjectNode) n.get("inputs")).put("link", "md5:abc")), "inputs.link must be \"sha256:");
        rejects(mutate(n -> ((ObjectNode) n.get("inputs")).remove("calibration")), "inputs.calibration");
        rejects(mutate(n -> ((ObjectNode) n.get("predicted")).put("agreement", 1.5)), "agreement must be in [0, 1]");
        rejects(mutate(n -> ((ObjectNode) n.get("predicted")).put("edgeBytes", -5)), "predicted memory must be >= 0");
        rejects(mutate(n -> ((ObjectNode) n.get("model")).put("dim", 100)), "plan: model: invalid model config");
    }

    @Test
    void rejectsAPlanForAnotherModelAndOversizedFiles() throws IOException {
        Path f = dir.resolve("plan.json");
        PlanFile.write(f, plan());
        LlamaConfig other = new LlamaConfig(288, 768, 8, 6, 6, 32000, 256, 10000f, 1e-5f, true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PlanFile.read(f, other));
        assertTrue(e.getMessage().contains("plan is for d=288 hidden=768 L=6"), e.getMessage());
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        Path big = dir.resolve("big.json");
        Files.write(big, new byte[(int) PlanFile.MAX_BYTES + 1]);
        e = assertThrows(IllegalArgumentException.class, () -> PlanFile.read(big));
        assertTrue(e.getMessage().contains("more than the"), e.getMessage());
    }

    @Test
    void noPlanIsWrittenForAnInfeasibleResult() {
        PlanResult r = Planner.plan(PlannerTest.request(LinkProfile.of("wifi", 1e7, 1e7, 20))
                .limits(dev.splitllm.optimizer.solve.Limits.none().withEdgeMemory(1000)).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PlanFile.of(r));
        assertTrue(e.getMessage().contains("edge memory"), e.getMessage());
    }
}
