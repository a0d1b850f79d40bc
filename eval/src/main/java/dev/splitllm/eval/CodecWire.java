package dev.splitllm.eval;

import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.SessionCodec;

/**
 * The real activation codec at the cut: each session is a {@link SessionCodec} (the class the
 * edge and the cloud use), every frame goes through {@link SessionCodec#roundTrip} (encoded to
 * bytes and decoded from them), and the bytes it reports are what is counted: the payload, plus
 * the per-session channel announcement on the frame that carries it (the fixed frame header is
 * not counted).
 */
public final class CodecWire implements Wire {
    private final CodecSpec spec;

    public CodecWire(CodecSpec spec) {
        if (spec == null) {
            throw new IllegalArgumentException("codec spec is missing");
        }
        this.spec = spec;
    }

    public CodecSpec spec() {
        return spec;
    }

    @Override
    public String name() {
        return spec.toString();
    }

    @Override
    public Session open(BitsTally tally) {
        SessionCodec codec = new SessionCodec(spec);
        return (x, tokens, dim, prefill) ->
                codec.roundTrip(x, tokens, dim, bytes -> tally.add(prefill, 8L * bytes, (long) tokens * dim));
    }

    @Override
    public String toString() {
        return name();
    }
}
