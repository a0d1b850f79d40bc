package dev.splitllm.engine.forward;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.kernels.KernelProvider;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The activation hook, now only on {@link HookedTransformer}, sees every block matmul input of stories15M. */
class HookedTransformerTest {
    private static final int[] IDS = TestModel.tokenizer().encode("Once upon a time, there was", true);

    private static float[] run(Transformer tf) {
        float[] x = tf.embed(IDS);
        tf.forward(tf.newState(IDS.length), x, IDS.length);
        return x;
    }

    @Test
    void readOnlyHookLeavesTheForwardBitIdentical() {
        List<String> seen = new ArrayList<>();
        Transformer hooked = new HookedTransformer(TestModel.full(), KernelProvider.best(), TestModel.TEAM,
                (layer, site, x, tokens, width) -> seen.add(layer + ":" + site + ":" + tokens + "x" + width));
        assertArrayEquals(run(TestModel.transformer()), run(hooked));
        int d = TestModel.full().config().dim(), hidden = TestModel.full().config().hiddenDim(), t = IDS.length;
        List<String> want = new ArrayList<>();
        for (int l = 0; l < TestModel.full().config().nLayers(); l++) {
            want.add(l + ":ATTN_QKV:" + t + "x" + d);
            want.add(l + ":ATTN_OUT:" + t + "x" + d);
            want.add(l + ":FFN_UP:" + t + "x" + d);
            want.add(l + ":FFN_DOWN:" + t + "x" + hidden);
        }
        assertEquals(want, seen);
    }

    @Test
    void aRewritingHookChangesTheForward() {
        // Zeroing the last block's feed-forward input removes exactly that residual contribution.
        int last = TestModel.full().config().nLayers() - 1;
        Transformer hooked = new HookedTransformer(TestModel.full(), KernelProvider.best(), TestModel.TEAM,
                (layer, site, x, tokens, width) -> {
                    if (layer == last && site == ActivationQuantizer.Site.FFN_DOWN) java.util.Arrays.fill(x, 0, tokens * width, 0f);
                });
        float[] plain = run(TestModel.transformer()), cut = run(hooked);
        assertFalse(java.util.Arrays.equals(plain, cut));
        assertThrows(NullPointerException.class, () -> new HookedTransformer(TestModel.full(), KernelProvider.best(), TestModel.TEAM, null));
    }
}
