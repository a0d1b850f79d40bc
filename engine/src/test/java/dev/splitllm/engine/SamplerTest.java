package dev.splitllm.engine;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.sample.Sampler;
import org.junit.jupiter.api.Test;

class SamplerTest {

    @Test
    void seededSamplingIsReproducible() {
        float[] logits = new float[100];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) Math.sin(i * 0.37) * 3;
        Sampler a = new Sampler(0.8f, 0.9f, 123), b = new Sampler(0.8f, 0.9f, 123);
        for (int i = 0; i < 50; i++) assertEquals(a.sample(logits), b.sample(logits));
    }

    @Test
    void greedyPicksTheFirstMaximum() {
        assertEquals(2, Sampler.greedy().sample(new float[] {1, 3, 5, 5, 2}));
    }

    @Test
    void degenerateLogitsDoNotCrashTopP() {
        float[] nan = new float[10];
        java.util.Arrays.fill(nan, Float.NaN);
        int t = new Sampler(1f, 0.9f, 7).sample(nan);
        assertTrue(t >= 0 && t < 10);
    }

    @Test
    void badParametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Sampler(-1f, 0.9f, 1));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1f, 1.5f, 1));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(Float.NaN, 0.9f, 1));
    }
}
