package dev.splitllm.optimizer.solve;

import java.util.List;

/**
 * What the planner found.
 *
 * @param request   the request
 * @param best      the chosen configuration, or null when nothing is feasible
 * @param frontier  feasible configurations not dominated in (ms/token, edge memory, agreement), by ms/token
 * @param splits    one row per split layer 0..L
 * @param bindings  when nothing is feasible: the constraints that bind and by how much (empty otherwise)
 * @param notes     grid values skipped and why (formats without measurements, sequence lengths not above the prompt)
 * @param evaluated configurations evaluated
 * @param pruned    configurations skipped by the edge-memory monotonicity bound
 */
public record PlanResult(PlanRequest request, Candidate best, List<Candidate> frontier, List<SplitRow> splits, List<Binding> bindings,
                         List<String> notes, long evaluated, long pruned) {

    public boolean feasible() {
        return best != null;
    }

    /** One line: the plan (with " draft=D k=K" at its end when the request has a drafter), or why there is none. */
    public String summary() {
        if (best != null) {
            return String.format(java.util.Locale.ROOT, "%s: %.2f ms/token, TTFT %.1f ms, edge %.1f MB, agreement %s",
                    best.describe(), best.msPerToken(), best.ttftMs(), best.edgeBytes() / 1e6,
                    Double.isNaN(best.agreement()) ? "unknown" : String.format(java.util.Locale.ROOT, "%.3f", best.agreement()))
                    + (request.draft() != null ? best.draftFields() : "");
        }
        StringBuilder sb = new StringBuilder("no feasible plan");
        for (Binding b : bindings) sb.append("; ").append(b.message());
        return sb.toString();
    }
}
