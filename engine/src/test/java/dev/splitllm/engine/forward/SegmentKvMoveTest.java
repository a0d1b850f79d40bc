package dev.splitllm.engine.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.kernels.KernelProvider;
import org.junit.jupiter.api.Test;

/**
 * {@link Segment#exportKv} and {@link Segment#loadKv}, what moving the cut rests on: a segment
 * rebuilt from two others' exported KV continues bit for bit as the whole model would, and every
 * misuse is refused without touching the receiving segment.
 */
class SegmentKvMoveTest {
    static final int[] PROMPT = {1, 9038, 2501, 263, 931};

    @Test
    void aCacheAssembledFromTwoRangesContinuesLikeTheWholeModel() {
        JavaBackend backend = new JavaBackend(TestModel.full(), KernelProvider.best(), TestModel.TEAM);
        try (Segment whole = backend.open(0, 6, 16); Segment front = backend.open(0, 2, 16); Segment back = backend.open(2, 6, 16);
             Segment moved = backend.open(0, 6, 16)) {
            float[] h = whole.embed(PROMPT);
            whole.forward(h, PROMPT.length);
            float[] g = front.embed(PROMPT);
            front.forward(g, PROMPT.length);
            back.forward(g, PROMPT.length);
            float[][][] a = front.exportKv(0, 2, PROMPT.length), b = back.exportKv(2, 6, PROMPT.length);
            moved.loadKv(0, a[0], a[1], PROMPT.length);
            moved.loadKv(2, b[0], b[1], PROMPT.length);
            assertEquals(PROMPT.length, moved.position());
            float[] x = whole.embed(new int[] {29892}), y = x.clone();
            whole.forward(x, 1);
            moved.forward(y, 1);
            assertArrayEquals(whole.lastLogits(x, 1), moved.lastLogits(y, 1), "the assembled cache gives the same next step, bit for bit");
        }
    }

    @Test
    void refusesWhatItDoesNotHold() {
        JavaBackend backend = new JavaBackend(TestModel.full(), KernelProvider.best(), TestModel.TEAM);
        try (Segment s = backend.open(2, 4, 8); Segment target = backend.open(2, 4, 8)) {
            s.forward(backend.transformer().embed(new int[] {1, 403}), 2);
            assertThrows(IllegalArgumentException.class, () -> s.exportKv(1, 3, 2), "layer 1 is not held");
            assertThrows(IllegalArgumentException.class, () -> s.exportKv(2, 4, 3), "position 2 is not cached");
            float[][][] kv = s.exportKv(2, 4, 2);
            assertThrows(IllegalArgumentException.class, () -> target.loadKv(1, kv[0], kv[1], 2), "layers [1, 3) not held");
            assertThrows(IllegalArgumentException.class, () -> target.loadKv(2, kv[0], kv[1], 9), "beyond the capacity");
            assertThrows(IllegalArgumentException.class, () -> target.loadKv(2, kv[0], kv[1], 3), "too few rows");
            assertEquals(0, target.position(), "nothing loaded");
            target.loadKv(2, kv[0], kv[1], 2);
            assertThrows(IllegalArgumentException.class, () -> target.loadKv(2, kv[0], kv[1], 1), "a loaded cache takes only its own length");
            assertArrayEquals(kv[0][1], target.exportKv(3, 4, 2)[0][0]);
        }
    }
}
