package dev.splitllm.eval;

import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;

/** The built-in stories15M, every block at F32, with its tokenizer: what the studies' command lines measure. */
final class BuiltInModel {
    final ModelWeights weights;
    final Tokenizer tokenizer;

    private BuiltInModel(ModelWeights weights, Tokenizer tokenizer) {
        this.weights = weights;
        this.tokenizer = tokenizer;
    }

    static BuiltInModel loadF32() throws IOException {
        try (ModelSource src = ModelFiles.open(EvalOptions.builtIn())) {
            ModelWeights w = ModelQuantizer.apply(src.load(ModelSlice.all(src.config().nLayers())), PrecisionPlan.uniform(WeightFormat.F32));
            return new BuiltInModel(w, src.tokenizer());
        }
    }
}
