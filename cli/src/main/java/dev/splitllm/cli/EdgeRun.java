package dev.splitllm.cli;

import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.GenerationResult;
import dev.splitllm.edge.StepStats;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;

/** Streams a split generation to the terminal and prints its per-token figures. */
final class EdgeRun {
    private EdgeRun() {}

    static GenerationResult stream(EdgeSession session, String prompt, int maxTokens, PrintWriter out) {
        return stream(session, prompt, maxTokens, out, null);
    }

    /** As above; {@code wrap} (when not null) turns the printing listener into the one generate gets (triggers). */
    static GenerationResult stream(EdgeSession session, String prompt, int maxTokens, PrintWriter out,
                                   java.util.function.UnaryOperator<dev.splitllm.edge.TokenListener> wrap) {
        out.print(prompt);
        out.flush();
        dev.splitllm.edge.TokenListener print = (id, text, stats) -> {
            out.print(text);
            out.flush();
        };
        GenerationResult r = session.generate(prompt, maxTokens, wrap == null ? print : wrap.apply(print));
        out.println();
        out.flush();
        return r;
    }

    /** One row per step: edge ms, encode ms, bytes up, network + cloud ms. */
    static void perToken(GenerationResult r, PrintWriter err) {
        err.println(" step  rows  edge ms  encode ms  bytes up  net+cloud ms  cloud ms");
        for (StepStats s : r.steps()) {
            err.printf(Locale.ROOT, "%5d %5d %8.2f %10.3f %9d %13.2f %9.2f%s%s%n", s.step(), s.tokens(), s.edgeMs(), s.encodeMs(),
                    s.bytesUp(), s.networkCloudMs(), s.cloudMs(), s.drafted() > 0 ? "  kept " + s.accepted() + "/" + s.drafted() + " drafts" : "",
                    s.reconnects() > 0 ? "  (" + s.reconnects() + " reconnects)" : "");
        }
        err.flush();
    }

    static double median(double[] v) {
        if (v.length == 0) return 0;
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    /** Summary of the decode steps (after the prefill). */
    static void summary(GenerationResult r, int dim, long residentBytes, PrintWriter err) {
        if (r.steps().isEmpty()) { // cancelled (Ctrl-C, SIGTERM) before the prefill was answered
            err.printf("stopped before the first token: %s%n", r.stopReason());
            err.flush();
            return;
        }
        if (r.steps().get(0).step() != 0) { // a restored session: every step here is a decode step
            long first = r.steps().get(0).step();
            var steps = r.steps();
            err.printf(Locale.ROOT, "resumed at step %d: %d steps here, median net+cloud %.2f ms; %d tokens in all; stop: %s%n", first,
                    steps.size(), median(steps.stream().mapToDouble(StepStats::networkCloudMs).toArray()), r.tokens().length,
                    r.stopReason());
            err.printf(Locale.ROOT, "edge resident: %.2f MB (front-segment weights + KV cache)%n", residentBytes / 1e6);
            err.flush();
            return;
        }
        var decode = r.steps().stream().skip(1).toList();
        double edge = median(decode.stream().mapToDouble(StepStats::edgeMs).toArray());
        double enc = median(decode.stream().mapToDouble(StepStats::encodeMs).toArray());
        double net = median(decode.stream().mapToDouble(StepStats::networkCloudMs).toArray());
        double cloud = median(decode.stream().mapToDouble(StepStats::cloudMs).toArray());
        int decodeTokens = Math.max(0, r.tokens().length - 1); // the prefill's step gave the first token
        double bytes = decodeTokens == 0 ? 0 : decode.stream().mapToDouble(StepStats::bytesUp).sum() / decodeTokens;
        StepStats pre = r.steps().get(0);
        err.printf(Locale.ROOT, "prefill: %d tokens, %d bytes up (%.2f bits/element incl. header), edge %.1f ms, net+cloud %.1f ms%n",
                pre.tokens(), pre.bytesUp(), pre.bytesUp() * 8.0 / (pre.tokens() * dim), pre.edgeMs(), pre.networkCloudMs());
        err.printf(Locale.ROOT, "decode: %d tokens, median edge %.2f ms, encode %.3f ms, net+cloud %.2f ms (cloud compute %.2f ms);"
                        + " %.0f bytes/token up (fp16 payload: %d); %.1f tok/s; stop: %s%n",
                decodeTokens, edge, enc, net, cloud, bytes, 2 * dim, r.decodeTokensPerSecond(), r.stopReason());
        err.printf(Locale.ROOT, "edge resident: %.2f MB (front-segment weights + KV cache%s)%n", residentBytes / 1e6,
                r.drafted() > 0 ? " + drafter" : "");
        err.flush();
    }
}
