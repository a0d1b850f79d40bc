package dev.splitllm.engine.onnx;

/**
 * How {@link OnnxBackend} configures ONNX Runtime sessions.
 *
 * @param intraOpThreads threads one session uses inside an operator (1 .. 1024)
 * @param provider       which execution provider to use
 * @param memoryPattern  ONNX Runtime's memory-pattern optimization (pre-plans buffers for repeated shapes)
 * @param quantizedWeights how Q4_0 / Q8_0 block matrices enter the graph (default: dequantized to float32)
 * @param spinning       whether idle intra-op threads busy-wait for work (ORT's own default is on).
 *                       Off by default here: with several sessions or other processes sharing the
 *                       cores, spinning threads steal the CPU the working ones need (measured: a
 *                       2-thread decode on a loaded 2-core machine ran several times slower with it on)
 */
public record OnnxOptions(int intraOpThreads, Provider provider, boolean memoryPattern,
                          LlamaGraphBuilder.QuantizedWeights quantizedWeights, boolean spinning) {

    /** Execution provider choice. */
    public enum Provider {
        /** CUDA when {@code OrtEnvironment.getAvailableProviders()} lists it, else CPU. */
        AUTO,
        /** Always the CPU provider. */
        CPU,
        /** CUDA or fail (clear error when the ONNX Runtime build has no CUDA provider). */
        CUDA
    }

    public OnnxOptions {
        if (intraOpThreads < 1 || intraOpThreads > 1024) {
            throw new IllegalArgumentException("intra-op threads must be in [1, 1024], got " + intraOpThreads);
        }
        if (provider == null || quantizedWeights == null) {
            throw new IllegalArgumentException("provider and quantized-weights mode must not be null");
        }
    }

    /** All available processors, automatic provider, memory pattern on, quantized weights dequantized, no spinning. */
    public static OnnxOptions defaults() {
        return new OnnxOptions(Math.min(1024, Runtime.getRuntime().availableProcessors()), Provider.AUTO, true,
                LlamaGraphBuilder.QuantizedWeights.DEQUANTIZE, false);
    }

    public OnnxOptions withThreads(int threads) {
        return new OnnxOptions(threads, provider, memoryPattern, quantizedWeights, spinning);
    }

    public OnnxOptions withProvider(Provider p) {
        return new OnnxOptions(intraOpThreads, p, memoryPattern, quantizedWeights, spinning);
    }

    public OnnxOptions withSpinning(boolean spin) {
        return new OnnxOptions(intraOpThreads, provider, memoryPattern, quantizedWeights, spin);
    }

    public OnnxOptions withQuantizedWeights(LlamaGraphBuilder.QuantizedWeights q) {
        return new OnnxOptions(intraOpThreads, provider, memoryPattern, q, spinning);
    }
}
