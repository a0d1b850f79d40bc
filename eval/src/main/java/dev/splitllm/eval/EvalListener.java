package dev.splitllm.eval;

/** Progress of an evaluation run, for progress bars: called from the evaluating thread. */
@FunctionalInterface
public interface EvalListener {
    /** {@code done} of {@code total} units of {@code stage} are finished. */
    void progress(String stage, long done, long total);

    /** A listener that ignores everything. */
    EvalListener NONE = (stage, done, total) -> { };
}
