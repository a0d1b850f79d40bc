package dev.splitllm.engine.forward;

import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.ModelWeights;
import java.util.Objects;

/**
 * A {@link Transformer} whose block matmul inputs go through an {@link ActivationQuantizer}
 * first (the classifier input is not hooked). For evaluation baselines (SmoothQuant W8A8,
 * Atom W4A4) and calibration only: the edge and cloud run the plain {@link Transformer}, which
 * has no hook to test on every block.
 */
public final class HookedTransformer extends Transformer {
    private final ActivationQuantizer hook;

    public HookedTransformer(ModelWeights weights, Kernels kernels, ThreadTeam team, ActivationQuantizer hook) {
        super(weights, kernels, team);
        this.hook = Objects.requireNonNull(hook, "hook");
    }

    @Override
    protected void matmulInput(int layer, ActivationQuantizer.Site site, float[] x, int T, int width) {
        hook.apply(layer, site, x, T, width);
    }
}
