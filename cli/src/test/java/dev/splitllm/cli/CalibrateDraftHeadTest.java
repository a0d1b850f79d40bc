package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.splitllm.engine.draft.DraftHead;
import dev.splitllm.eval.PromptSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code calibrate --draft-head} end to end, on a short text so that it stays cheap. */
class CalibrateDraftHeadTest {
    private static final Pattern LAST = Pattern.compile(
            "draft-head: split=(\\d+) file=(.+) agreement=(\\d\\.\\d{3}) raw=(\\d\\.\\d{3}) positions=(\\d+)");

    @Test
    void fitsWritesAndReports(@TempDir Path tmp) throws Exception {
        // About 630 tokens: three windows, two to fit (more positions than d = 288), one to measure.
        Path text = tmp.resolve("stories.txt");
        Files.writeString(text, String.join("\n\n", PromptSet.STORIES) + "\n\n" + CalibrateCommand.DEFAULT_TEXT);
        Path out = tmp.resolve("h.xhead");
        Run r = Run.of("calibrate", "--draft-head", "--splits", "3", "--text", text.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.toString());
        List<String> lines = r.out().lines().toList();
        Matcher m = LAST.matcher(lines.get(lines.size() - 1));
        assertTrue(m.matches(), r.toString());
        assertEquals("3", m.group(1));
        assertEquals(out.toString(), m.group(2));
        assertTrue(Integer.parseInt(m.group(5)) > 50, r.toString());
        DraftHead head = DraftHead.read(out);
        assertEquals(3, head.splitLayer());
        assertEquals(288, head.dim());
    }

    @Test
    void outNamesOneFile(@TempDir Path tmp) {
        Run r = Run.of("calibrate", "--draft-head", "--splits", "2,3", "--out", tmp.resolve("h.xhead").toString());
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--out names one head file"), r.toString());
        Run both = Run.of("calibrate", "--draft-head", "--codec-tables");
        assertEquals(2, both.code(), both.toString());
        assertTrue(both.err().contains("separate runs"), both.toString());
    }
}
