package dev.splitllm.optimizer;

import dev.splitllm.optimizer.profile.CodecProbe;
import dev.splitllm.quantization.codec.ActivationCodec;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CorruptPayloadException;

/**
 * The runtime's own activation codec behind the optimizer's {@link CodecProbe}: the bytes
 * measured are the payload the edge really sends (per-token side information included; the
 * 68-byte frame header is not part of it, see docs/WIRE.md). Not thread-safe (codec scratch).
 */
public final class RealCodecProbe implements CodecProbe {
    private final ActivationCodec codec = new ActivationCodec();

    @Override
    public String name() {
        return "splitllm-activation-codec";
    }

    @Override
    public void check(String spec) {
        CodecSpec.parse(spec);
    }

    @Override
    public byte[] encode(String spec, float[] hidden, int tokens, int dim) {
        return codec.encode(CodecSpec.parse(spec), hidden, tokens, dim);
    }

    @Override
    public float[] decode(String spec, byte[] encoded, int tokens, int dim) {
        try {
            return codec.decode(CodecSpec.parse(spec), encoded, tokens, dim, null);
        } catch (CorruptPayloadException e) {
            throw new IllegalStateException("the codec could not decode its own payload for " + spec + ": " + e.getMessage(), e);
        }
    }
}
