package dev.splitllm.edge;

import dev.splitllm.engine.draft.DraftPolicy;
import dev.splitllm.engine.draft.Drafter;
import dev.splitllm.quantization.wire.Draft;

/**
 * Whether and how an edge session speculates (docs/PROTOCOL.md, "Speculation"): the drafter that
 * guesses tokens on the device, how many per step (a count, or {@link DraftPolicy#AUTO} to adapt
 * to the measured acceptance and round trip), and, for sampling sessions, how many tokens each
 * proposal lists. The caller owns the drafter and closes it after the session.
 */
public final class Speculation {
    /** Proposal entries per drafted position when sampling. */
    public static final int DEFAULT_PROPOSAL_WIDTH = 4;

    private final Drafter drafter;
    private final int k;
    private final int proposalWidth;

    private Speculation(Drafter drafter, int k, int proposalWidth) {
        this.drafter = drafter;
        this.k = k;
        this.proposalWidth = proposalWidth;
    }

    /** The plain protocol: one round trip per token. */
    public static Speculation none() {
        return new Speculation(null, 0, DEFAULT_PROPOSAL_WIDTH);
    }

    /** Drafts with {@code drafter}, {@code k} tokens per step or {@link DraftPolicy#AUTO}. */
    public static Speculation with(Drafter drafter, int k) {
        if (drafter == null) throw new IllegalArgumentException("a drafter is required (Speculation.none() for none)");
        if (k != DraftPolicy.AUTO && (k < 0 || k > Draft.MAX_TOKENS)) {
            throw new IllegalArgumentException("k must be auto or 0.." + Draft.MAX_TOKENS + ", got " + k);
        }
        return new Speculation(drafter, k, DEFAULT_PROPOSAL_WIDTH);
    }

    /** The same with {@code width} proposal entries per drafted position (1..8) when sampling. */
    public Speculation withProposalWidth(int width) {
        if (width < 1 || width > Draft.MAX_PROPOSAL) throw new IllegalArgumentException("proposal width must be 1.." + Draft.MAX_PROPOSAL);
        return new Speculation(drafter, k, width);
    }

    public Drafter drafter() {
        return drafter;
    }

    /** Drafts per step, or {@link DraftPolicy#AUTO}. */
    public int k() {
        return k;
    }

    public int proposalWidth() {
        return proposalWidth;
    }

    public boolean enabled() {
        return drafter != null && k != 0;
    }

    /** "auto" or the count. */
    public String kLabel() {
        return k == DraftPolicy.AUTO ? "auto" : Integer.toString(k);
    }
}
