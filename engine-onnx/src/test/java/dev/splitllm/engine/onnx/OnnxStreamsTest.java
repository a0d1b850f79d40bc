package dev.splitllm.engine.onnx;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Streams sharing one ORT session keep separate caches: interleaving them changes nothing. */
class OnnxStreamsTest {

    @Test
    void interleavedStreamsMatchSoloRuns() {
        OnnxBackend backend = Stories15M.onnx();
        int[] a = Stories15M.tokenizer().encode("The dog barked at the moon", true);
        int[] b = Stories15M.tokenizer().encode("Tom liked to eat green apples every day", true);
        float[] soloA = solo(backend, a), soloB = solo(backend, b);
        try (OnnxSegment sa = backend.open(0, 2, 32); OnnxSegment sb = backend.open(0, 2, 32)) {
            float[] outA = new float[a.length * 288], outB = new float[b.length * 288];
            int n = Math.max(a.length, b.length);
            for (int t = 0; t < n; t++) { // one token at a time, alternating streams
                if (t < a.length) {
                    float[] h = sa.embed(new int[] {a[t]});
                    sa.forward(h, 1);
                    System.arraycopy(h, 0, outA, t * 288, 288);
                }
                if (t < b.length) {
                    float[] h = sb.embed(new int[] {b[t]});
                    sb.forward(h, 1);
                    System.arraycopy(h, 0, outB, t * 288, 288);
                }
            }
            assertEquals(a.length, sa.position());
            assertEquals(b.length, sb.position());
            assertTrue(Stories15M.maxAbsDiff(soloA, outA, outA.length) <= 1e-5f, "stream A changed by interleaving");
            assertTrue(Stories15M.maxAbsDiff(soloB, outB, outB.length) <= 1e-5f, "stream B changed by interleaving");
            assertTrue(Stories15M.maxAbsDiff(outA, outB, 288 * Math.min(a.length, b.length)) > 1e-2f, "different prompts differ");
        }
    }

    /** Hidden states after blocks [0, 2), fed one token per step in a stream of its own. */
    private static float[] solo(OnnxBackend backend, int[] tokens) {
        try (OnnxSegment s = backend.open(0, 2, 32)) {
            float[] out = new float[tokens.length * 288];
            for (int t = 0; t < tokens.length; t++) {
                float[] h = s.embed(new int[] {tokens[t]});
                s.forward(h, 1);
                System.arraycopy(h, 0, out, t * 288, 288);
            }
            return out;
        }
    }
}
