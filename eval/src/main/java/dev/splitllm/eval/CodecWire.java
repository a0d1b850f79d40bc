package dev.splitllm.eval;

import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CodecTables;
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
    private final CodecTables tables;

    /** The codec {@code spec}; a mean or ans spec finds its tables by the hash it names. */
    public CodecWire(CodecSpec spec) {
        this(spec, spec != null && spec.needsTables() ? CodecTables.find(spec.tablesHash()) : null);
    }

    /** The codec {@code spec} with its calibrated {@code tables} (null when it needs none). */
    public CodecWire(CodecSpec spec, CodecTables tables) {
        if (spec == null) {
            throw new IllegalArgumentException("codec spec is missing");
        }
        new SessionCodec(spec, tables); // checks that the tables are the ones the spec names
        this.spec = spec;
        this.tables = spec.needsTables() ? tables : null;
    }

    /** The calibrated tables, or null. */
    public CodecTables tables() {
        return tables;
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
        SessionCodec codec = new SessionCodec(spec, tables);
        return (x, tokens, dim, prefill) ->
                codec.roundTrip(x, tokens, dim, bytes -> tally.add(prefill, 8L * bytes, (long) tokens * dim));
    }

    @Override
    public String toString() {
        return name();
    }
}
