package dev.splitllm.eval;

import dev.splitllm.quantization.codec.ActivationCodec;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CorruptPayloadException;
import dev.splitllm.quantization.codec.OutlierChannels;

/**
 * The real activation codec at the cut: every frame is encoded to bytes with
 * {@link ActivationCodec#encode} and decoded from those bytes, and the payload length is what is
 * counted. In per-session channel mode the channel set is selected from the prefill frame (as
 * the runtime does) and its one-time cost (u16 count plus u16 per channel) is charged to that frame.
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
        ActivationCodec codec = new ActivationCodec();
        return new Session() {
            OutlierChannels channels;

            @Override
            public float[] transmit(float[] x, int tokens, int dim, boolean prefill) {
                long extra = 0;
                if (spec.sessionChannels() && channels == null) {
                    channels = OutlierChannels.select(x, tokens, dim, spec.tau());
                    extra = 2 + 2L * channels.size();
                }
                byte[] payload = codec.encode(spec, x, tokens, dim, channels);
                tally.add(prefill, 8L * (payload.length + extra), (long) tokens * dim);
                try {
                    return codec.decode(spec, payload, tokens, dim, channels);
                } catch (CorruptPayloadException e) {
                    throw new IllegalStateException("codec could not decode its own payload for " + spec, e);
                }
            }
        };
    }

    @Override
    public String toString() {
        return name();
    }
}
