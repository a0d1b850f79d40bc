package dev.splitllm.cli;

import dev.splitllm.optimizer.PlanBenchmark;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code splitllm bench plan}: planning time of a 32-layer model over the full grid. */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Time the planner on a 32-layer model over the full grid (splits x edge/cloud formats x codecs x lengths);",
                "prints each run and the median in ms."},
        footer = {"", "Example:", "  ./splitllm bench plan --runs 21"})
public final class BenchPlanCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--runs", defaultValue = "21", description = "Timed runs (default: ${DEFAULT-VALUE}).")
    int runs;

    @Override
    public Integer call() {
        if (runs < 1 || runs > 1000) throw new ParameterException(spec.commandLine(), "--runs must be in 1..1000");
        PlanBenchmark.run(runs, System.out);
        return 0;
    }
}
