package dev.splitllm.engine.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.kernels.KernelProvider;
import org.junit.jupiter.api.Test;

/** {@link SegmentState#replaceRows}: the receiving end of a KV delta writes exactly the rows it is given, and refuses what it does not hold. */
class SegmentStateReplaceRowsTest {

    @Test
    void replacedRowsAreWhatTheNextStepAttendsTo() {
        Transformer tf = new Transformer(TestModel.full(), KernelProvider.best(), TestModel.TEAM);
        int[] prompt = {1, 9038, 2501, 263, 931};
        SegmentState a = tf.newState(16), b = tf.newState(16);
        tf.forward(a, tf.embed(prompt), prompt.length);
        tf.forward(b, tf.embed(new int[] {1, 403, 2462, 263, 931}), prompt.length); // other tokens, other KV
        for (int l = 0; l < 6; l++) {
            b.replaceRows(l, 0, prompt.length, a.keysOf(l, prompt.length), a.valuesOf(l, prompt.length));
        }
        float[] x = tf.embed(new int[] {29892}), y = x.clone();
        tf.forward(a, x, 1);
        tf.forward(b, y, 1);
        assertArrayEquals(tf.lastLogits(x, 1), tf.lastLogits(y, 1), "b now holds a's cache: the same next step, bit for bit");
    }

    @Test
    void refusesLayersAndPositionsItDoesNotHold() {
        Transformer tf = new Transformer(TestModel.full(), KernelProvider.best(), TestModel.TEAM);
        SegmentState s = tf.newState(2, 4, 8);
        tf.forward(s, tf.embed(new int[] {1, 403}), 2);
        float[] rows = new float[2 * 288];
        assertThrows(IllegalArgumentException.class, () -> s.replaceRows(1, 0, 2, rows, rows), "layer outside [2, 4)");
        assertThrows(IllegalArgumentException.class, () -> s.replaceRows(2, 1, 2, rows, rows), "position 2 is not cached");
        assertThrows(IllegalArgumentException.class, () -> s.replaceRows(2, 0, 2, new float[288], rows), "too few values");
        s.replaceRows(3, 0, 2, rows, rows);
        assertArrayEquals(rows, s.keysOf(3, 2));
        assertEquals(2, s.length(), "the length does not change");
    }
}
