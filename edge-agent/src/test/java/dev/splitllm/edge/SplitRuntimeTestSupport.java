package dev.splitllm.edge;

/** Runs one split generation against a fixture. */
final class SplitRuntimeTestSupport {
    private SplitRuntimeTestSupport() {}

    static int[] run(Fixture fx, int split, EdgeOptions options, String prompt, int n) {
        try (EdgeModel edge = fx.edge(split); EdgeSession s = EdgeSession.open(edge, options)) {
            return s.generate(prompt, n, TokenListener.NONE).tokens();
        }
    }
}
