package dev.splitllm.optimizer.solve;

/**
 * The planner's summary of one split layer, for the report: the best feasible configuration
 * at that split, or (when none is feasible) the one closest to feasible, with the reasons.
 *
 * @param split     split layer in [0, L]
 * @param candidate shown configuration, or null when the split has no configuration at all
 * @param feasible  true when {@code candidate} meets every constraint
 * @param reason    empty when feasible; else why, e.g. "edge memory 61.2 MB > 48.0 MB"
 */
public record SplitRow(int split, Candidate candidate, boolean feasible, String reason) {}
