package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.optimizer.plan.Plan;
import dev.splitllm.optimizer.plan.PlanFile;
import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.CodecPoint;
import dev.splitllm.optimizer.profile.Curve;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.FormatProfile;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.optimizer.profile.WeightQuality;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code plan --draft}: the drafter is measured on the model, planned with, reported and written to plan.json. */
class PlanDraftCommandTest {
    static final ModelShape STORIES = new ModelShape("stories15M", 288, 768, 6, 6, 6, 32000, 256, true);

    /** A slow edge (2 ms per block) with the given formats' timings; no codec timings (free codecs). */
    static DeviceProfile device(String name, double perLayerMs) {
        List<FormatProfile> fs = new ArrayList<>();
        for (WeightFormat f : List.of(WeightFormat.F32, WeightFormat.F16, WeightFormat.Q8_0, WeightFormat.Q4_0)) {
            double s = perLayerMs * (0.5 + f.bitsPerWeight() / 64);
            fs.add(new FormatProfile(f.id(), new Curve(new double[] {16, 128}, new double[] {4 * s, 30 * s}),
                    new Curve(new double[] {32, 255}, new double[] {s, 1.3 * s}), 3 * s, 0.001, 0));
        }
        return new DeviceProfile(DeviceProfile.SCHEMA, name, false, Map.of(), STORIES, fs, List.of());
    }

    static CalibrationTable calibration() {
        List<CodecPoint> pts = new ArrayList<>();
        for (int l = 0; l < 6; l++) pts.add(new CodecPoint(l, "q8_0", 8.5, 8.5, 0.995, 0.002, 0.01));
        return new CalibrationTable(CalibrationTable.SCHEMA, STORIES, false, Map.of(), 40, pts,
                List.of(new WeightQuality("f16", 1, 0, 0), new WeightQuality("q8_0", 0.99, 0.003, 0.02), new WeightQuality("q4_0", 0.93, 0.05, 0.4)));
    }

    /** The common arguments: a slow edge, a fast cloud, a 50 ms round trip; 24 MB and agreement 0.991 rule out every all-edge plan. */
    static List<String> args(Path dir) throws IOException {
        Path edge = dir.resolve("edge.json"), cloud = dir.resolve("cloud.json"), cal = dir.resolve("calibration.json");
        ProfileJson.write(edge, device("edge", 2.0));
        ProfileJson.write(cloud, device("cloud", 0.1));
        ProfileJson.write(cal, calibration());
        return new ArrayList<>(List.of("plan", "--edge-profile", edge.toString(), "--cloud-profile", cloud.toString(), "--calibration",
                cal.toString(), "--uplink", "10mbit", "--rtt", "50ms", "--memory", "24MB", "--min-agreement", "0.991", "--seq-len", "64",
                "--threads", "2", "--out", dir.resolve("plan.json").toString()));
    }

    @Test
    void theModelDrafterIsMeasuredPlannedReportedAndWritten(@TempDir Path dir) throws IOException {
        List<String> a = args(dir);
        a.addAll(List.of("--draft", "model", "--draft-positions", "48", "--draft-max-k", "6"));
        Run r = Run.of(a.toArray(String[]::new));
        System.out.println(r.out());
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.err().contains("plan: drafter model: alpha "), r.toString());
        assertTrue(r.out().contains("drafter: model alpha="), r.toString());
        Matcher chosen = Pattern.compile("(?m)^chosen: .* draft=(\\S+) k=(\\d+)$").matcher(r.out());
        assertTrue(chosen.find(), "the chosen line ends with draft=D k=K: " + r);
        // A 50 ms round trip against a few ms per draft on this machine: drafting pays.
        assertEquals("model", chosen.group(1), r.toString());
        int k = Integer.parseInt(chosen.group(2));
        assertTrue(k >= 1 && k <= 6, r.toString());
        Matcher line = Pattern.compile("(?m)^draft: drafter=model k=" + k + " alpha=0\\.\\d\\d tokens-per-round-trip=(\\d+\\.\\d\\d) \\(\\+\\d+\\.\\d MB edge\\)$")
                .matcher(r.out());
        assertTrue(line.find(), r.toString());
        Plan p = PlanFile.read(dir.resolve("plan.json"));
        assertEquals("model", p.draft());
        assertEquals(k, p.draftK());
        assertEquals(Double.parseDouble(line.group(1)), p.predicted().tokensPerRoundTrip(), 0.006);
        List<String> lines = r.out().lines().filter(s -> !s.isBlank()).toList();
        assertTrue(lines.get(lines.size() - 1).startsWith("plan -> "), "the last line keeps its shape: " + r);
    }

    @Test
    void withoutADrafterNothingIsSaidAboutDrafts(@TempDir Path dir) throws IOException {
        Run r = Run.of(args(dir).toArray(String[]::new));
        assertEquals(0, r.code(), r.toString());
        assertFalse(r.out().contains("draft"), r.toString());
        Plan p = PlanFile.read(dir.resolve("plan.json"));
        assertNull(p.draft());
        assertEquals(0, p.draftK());
    }

    @Test
    void badDrafterSpecsAreUsageErrors(@TempDir Path dir) throws IOException {
        List<String> a = args(dir);
        a.addAll(List.of("--draft", "bogus"));
        Run r = Run.of(a.toArray(String[]::new));
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--draft must be ngram, model or model:PATH[@FORMAT], got 'bogus'"), r.toString());
        a = args(dir);
        a.addAll(List.of("--draft", "model:" + dir.resolve("missing.gguf") + "@q4_0"));
        r = Run.of(a.toArray(String[]::new));
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("draft model not found: " + dir.resolve("missing.gguf")), r.toString());
        a = args(dir);
        a.addAll(List.of("--draft", "model:" + dir.resolve("edge.json") + "@q3_k"));
        r = Run.of(a.toArray(String[]::new));
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("q3_k"), r.toString());
        a = args(dir);
        a.addAll(List.of("--draft", "ngram", "--draft-max-k", "17"));
        r = Run.of(a.toArray(String[]::new));
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--draft-max-k must be in 1..16"), r.toString());
        a = args(dir);
        a.addAll(List.of("--draft", "ngram", "--derive", "llama-3.2-1b"));
        r = Run.of(a.toArray(String[]::new));
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("cannot be combined with --derive"), r.toString());
    }
}
