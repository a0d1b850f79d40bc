package dev.splitllm.optimizer.solve;

/** The constraints a plan must meet; each is one bit of a candidate's violation mask. */
public enum Constraint {
    EDGE_MEMORY("edge memory", true),
    CLOUD_MEMORY("cloud memory", true),
    MS_PER_TOKEN("ms/token", true),
    TTFT("TTFT", true),
    AGREEMENT("agreement", false),
    KL("mean KL", true),
    SEQ_LEN("sequence length", false);

    /** Human name for messages. */
    public final String label;
    /** True when smaller values are better (the limit is a maximum). */
    public final boolean atMost;

    Constraint(String label, boolean atMost) {
        this.label = label;
        this.atMost = atMost;
    }

    public int bit() {
        return 1 << ordinal();
    }
}
