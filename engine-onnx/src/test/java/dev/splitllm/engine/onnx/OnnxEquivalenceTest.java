package dev.splitllm.engine.onnx;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.sample.Sampler;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * For every split k of stories15M, the ORT front segment [0, k) (with the embedding) and the
 * ORT back segment [k, 6) (with the head) match the Java engine within 1e-4 (max abs) on
 * hidden states, KV cache and logits, over an 8-token prefill and 32 greedy decode steps.
 */
class OnnxEquivalenceTest {
    static final float TOL = 1e-4f;

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5})
    void segmentsMatchJavaEngine(int k) {
        Transformer java = Stories15M.java();
        SegmentState javaFront = java.newState(0, k, 64);
        SegmentState javaBack = java.newState(k, 6, 64);
        int d = java.config().dim();
        try (OnnxSegment front = Stories15M.onnx().open(0, k, 64);
             OnnxSegment back = Stories15M.onnx().open(k, 6, 64)) {
            assertTrue(front.hasEmbedding());
            assertFalse(front.hasHead());
            assertTrue(back.hasHead());
            assertFalse(back.hasEmbedding());

            int[] prompt = Stories15M.tokenizer().encode("One day, a little girl named Lily", true);
            assertTrue(prompt.length >= 7 && prompt.length <= 10, "prompt of ~8 tokens, got " + prompt.length);
            int[] tokens = prompt;
            float worstHidden = 0, worstLogits = 0;
            for (int step = 0; step <= 32; step++) {
                int T = tokens.length;
                float[] jh = java.embed(tokens);
                float[] oh = front.embed(tokens);
                assertArrayEquals(jh, oh, "embedding rows are copied exactly");

                java.forward(javaFront, jh, T);
                front.forward(oh, T);
                float frontDiff = Stories15M.maxAbsDiff(jh, oh, T * d);
                assertTrue(frontDiff <= TOL, "front [0," + k + ") hidden differs by " + frontDiff + " at step " + step);

                // The back halves get the same input, so their comparison is not blurred by the front's.
                float[] jb = jh.clone();
                float[] ob = jh.clone();
                java.forward(javaBack, jb, T);
                back.forward(ob, T);
                float backDiff = Stories15M.maxAbsDiff(jb, ob, T * d);
                assertTrue(backDiff <= TOL, "back [" + k + ",6) hidden differs by " + backDiff + " at step " + step);

                float[] jl = java.lastLogits(jb, T);
                float[] ol = back.lastLogits(ob, T);
                float logitDiff = Stories15M.maxAbsDiff(jl, ol, jl.length);
                assertTrue(logitDiff <= TOL, "logits differ by " + logitDiff + " at step " + step + " for split " + k);
                worstHidden = Math.max(worstHidden, Math.max(frontDiff, backDiff));
                worstLogits = Math.max(worstLogits, logitDiff);
                tokens = new int[] {Sampler.argmax(jl)};
            }
            int n = prompt.length + 32;
            assertEquals(n, front.position());
            assertEquals(n, back.position());
            assertEquals(javaFront.length(), front.position());
            // The caches ORT kept between steps match the Java engine's.
            for (int l = 0; l < 6; l++) {
                OnnxSegment seg = l < k ? front : back;
                SegmentState st = l < k ? javaFront : javaBack;
                float kd = Stories15M.maxAbsDiff(st.keysOf(l, n), seg.keysOf(l), n * java.config().kvDim());
                float vd = Stories15M.maxAbsDiff(st.valuesOf(l, n), seg.valuesOf(l), n * java.config().kvDim());
                assertTrue(kd <= TOL && vd <= TOL, "layer " + l + " KV differs: keys " + kd + ", values " + vd);
            }
            System.out.printf("split %d: max |hidden diff| %.3g, max |logit diff| %.3g%n", k, worstHidden, worstLogits);
        }
    }
}
