package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each error the first-use report (#20) quoted now names what is wrong and what to do, in one line. */
class ErrorMessagesTest {

    static void oneLine(Run r, int code, String expected) {
        assertEquals(code, r.code(), r.toString());
        assertTrue(r.err().contains(expected), "expected '" + expected + "' in\n" + r);
        assertFalse(r.err().contains("\tat "), r.toString());
    }

    @Test
    void missingEdgeProfileSaysHowToMakeIt(@TempDir Path tmp) {
        Path edge = tmp.resolve("edge.json");
        Run r = Run.of("plan", "--edge-profile", edge.toString(), "--calibration", tmp.resolve("c.json").toString(), "--uplink", "10mbit",
                "--rtt", "50ms");
        oneLine(r, 1, "cannot read edge profile " + edge + ": no such file; make one with ./splitllm profile --name edge --out " + edge);
        assertEquals(1, r.err().lines().count(), r.toString());
    }

    @Test
    void missingCalibrationTextSaysSo(@TempDir Path tmp) {
        Path text = tmp.resolve("my-text.txt");
        oneLine(Run.of("calibrate", "--text", text.toString(), "--out", tmp.resolve("k.json").toString()), 1,
                "cannot read calibration text " + text + ": no such file; give a UTF-8 text file, or leave out --text");
    }

    @Test
    void convertIntoAMissingFolderNamesTheFolder(@TempDir Path tmp) throws Exception {
        Path model = dev.splitllm.fetch.ModelFetcher.ensureStories15M(dev.splitllm.fetch.FetchListener.NONE).resolve("stories15M.bin");
        Path out = tmp.resolve("nonexistent/dir/y.gguf");
        oneLine(Run.of("convert", "--in", model.toString(), "--out", out.toString()), 1,
                "cannot write " + out + ": folder " + out.getParent() + " does not exist; create it (mkdir -p " + out.getParent() + ")");
    }

    @Test
    void linkProfileGivenAsDeviceProfileIsNamedAsSuch(@TempDir Path tmp) {
        Path link = tmp.resolve("link.json");
        assertEquals(0, Run.of("profile", "--link", "--uplink", "10mbit", "--rtt", "50ms", "--name", "lte", "--out", link.toString()).code());
        Run r = Run.of("plan", "--edge-profile", link.toString(), "--calibration", link.toString(), "--uplink", "10mbit", "--rtt", "50ms");
        oneLine(r, 1, "is a link profile, not a device profile; make one with ./splitllm profile --name edge --out edge.json");
    }

    @Test
    void textFileAsTokenizerIsATokenizerError(@TempDir Path tmp) throws Exception {
        Path txt = Files.writeString(tmp.resolve("notes.txt"), "this is not a tokenizer\n".repeat(20));
        Run r = Run.of("generate", "--tokenizer", txt.toString(), "-n", "2");
        oneLine(r, 1, "cannot read tokenizer " + txt + ": not a llama2.c tokenizer.bin for this model");
        assertFalse(r.err().contains("cannot load the model"), r.toString());
    }

    @Test
    void usageErrorsDoNotPrintTheWholeHelp() {
        Run r = Run.of("plan", "--memory");
        assertEquals(2, r.code());
        assertEquals(2, r.err().lines().count(), "one line and where the help is: " + r);
        assertTrue(r.err().contains("see './splitllm plan --help'"), r.toString());
    }

    @Test
    void demoSummaryStatesWhatItMeasured() {
        assertEquals("agreement with the unsplit fp32 model (greedy, codec tabq:eps=0.001,bits=2/3/4/6/8, weights f32/f32): first 94 of 128"
                        + " tokens identical, then the stories diverge (token 95 differs; with --codec fp32 and f32 weights the split is"
                        + " lossless and all tokens match)",
                DemoCommand.agreementLine(0, 42, "tabq:eps=0.001,bits=2/3/4/6/8", "f32", "f32", 94, 128));
        assertEquals("agreement with the unsplit fp32 model (greedy, codec fp32, weights f32/f32): all 128 tokens identical",
                DemoCommand.agreementLine(0, 42, "fp32", "f32", "f32", 128, 128));
        assertTrue(DemoCommand.agreementLine(0.8f, 7, "fp16", "f32", "f32", 3, 50).contains("sampled at temperature 0.8, seed 7"));
    }
}
