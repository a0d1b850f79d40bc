package dev.splitllm.optimizer.profile;

/**
 * The activation codec as the optimizer sees it: encode a T x d hidden state with a codec
 * spec string, decode it back. The profiler times it and the calibrator measures bits and the
 * quality of the model run on the decoded state. The lead binds it to the real codec
 * ({@code CodecSpec.parse(spec)} + {@code ActivationCodec}, optionally inside a
 * {@code FrameCodec} frame) after merging; tests bind simple reference quantizers.
 *
 * <p>Implementations must be deterministic and must not keep references to the arrays.
 */
public interface CodecProbe {

    /** Short name of the implementation, recorded in calibration tables. */
    String name();

    /** Throws IllegalArgumentException with a clear message when {@code spec} is not a valid codec setting. */
    void check(String spec);

    /** Encoded bytes of {@code tokens} rows of {@code dim} floats (row-major) with {@code spec}. */
    byte[] encode(String spec, float[] hidden, int tokens, int dim);

    /** The T x d floats the receiver reconstructs from {@code encoded}. */
    float[] decode(String spec, byte[] encoded, int tokens, int dim);
}
