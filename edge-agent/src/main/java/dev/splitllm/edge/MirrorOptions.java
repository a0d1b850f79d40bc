package dev.splitllm.edge;

import dev.splitllm.quantization.kv.KvSpec;

/**
 * The mirror (docs/PROTOCOL.md, "Mirror"): the edge streams the KV rows of its layers to the cloud
 * as they are made, in SPKV frames of {@code every} positions up its socket, so that a hand-off or
 * a move toward the cloud later sends only the positions not yet mirrored. Budgeted: the mirror
 * may spend at most {@code budgetBytesPerToken} bytes per generated token on average (it falls
 * behind, never ahead, when frames cost more); 0 means no budget.
 *
 * @param kind                the KV kind of mirror frames ({@code fp32} lossless, or {@code kivi:...})
 * @param every               positions per mirror frame (a KIVI key group is a natural choice)
 * @param budgetBytesPerToken average bytes per token the mirror may use, or 0 for no limit
 */
public record MirrorOptions(KvSpec kind, int every, long budgetBytesPerToken) {
    public MirrorOptions {
        if (kind == null) throw new IllegalArgumentException("a mirror needs a KV kind");
        if (every < 1 || every > 4096) throw new IllegalArgumentException("mirror frames hold 1..4096 positions, got " + every);
        if (budgetBytesPerToken < 0) throw new IllegalArgumentException("the mirror's budget must be >= 0, got " + budgetBytesPerToken);
    }

    /**
     * Parses {@code KIND[@EVERY][/BUDGET]}, e.g. {@code fp32}, {@code kivi:bits=8@16},
     * {@code kivi:bits=4@32/2000} (2000 bytes per token at most). EVERY defaults to 16.
     */
    public static MirrorOptions parse(String spec) {
        if (spec == null || spec.isBlank()) throw new IllegalArgumentException("empty mirror spec");
        String s = spec.trim();
        long budget = 0;
        int slash = s.lastIndexOf('/');
        if (slash >= 0) {
            budget = parseNumber(s.substring(slash + 1), "budget", spec);
            s = s.substring(0, slash);
        }
        int every = 16;
        int at = s.lastIndexOf('@');
        if (at >= 0) {
            every = (int) parseNumber(s.substring(at + 1), "positions per frame", spec);
            s = s.substring(0, at);
        }
        return new MirrorOptions(KvSpec.parse(s), every, budget);
    }

    private static long parseNumber(String text, String what, String spec) {
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("mirror " + what + " '" + text + "' in '" + spec
                    + "' is not a number (KIND[@EVERY][/BYTES_PER_TOKEN], e.g. kivi:bits=8@16)");
        }
    }

    @Override
    public String toString() {
        return kind + "@" + every + (budgetBytesPerToken > 0 ? "/" + budgetBytesPerToken : "");
    }
}
