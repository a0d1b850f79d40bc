package dev.splitllm.optimizer.solve;

/**
 * Why nothing is feasible: a constraint that cannot be met, with the best value any
 * configuration reaches for it and the gap to the limit.
 *
 * @param constraint the constraint
 * @param best       best value reached (among configurations meeting every other constraint when
 *                   {@code alone} is false, else among all configurations)
 * @param limit      the limit
 * @param shortBy    |best - limit|
 * @param alone      true when the constraint cannot be met even ignoring every other one
 * @param message    a sentence for the user, e.g. "edge memory: smallest configuration needs 61.2 MB, budget 48.0 MB (short by 13.2 MB)"
 */
public record Binding(Constraint constraint, double best, double limit, double shortBy, boolean alone, String message) {}
