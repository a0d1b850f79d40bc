package dev.splitllm.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code splitllm bench}: groups the benchmarks; each is a subcommand. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks that print figures (subcommands: engine, weights, codec, runtime, plan, link, cloud, speculative, move)."},
        subcommands = {BenchEngineCommand.class, BenchWeightsCommand.class, BenchCodecCommand.class, BenchRuntimeCommand.class,
                BenchPlanCommand.class, BenchLinkCommand.class, BenchCloudCommand.class, BenchSpeculativeCommand.class, BenchMoveCommand.class,
                BenchAdaptiveCommand.class},
        footer = {"", "Example:", "  ./splitllm bench engine --tokens 256 --runs 5", "  ./splitllm bench runtime --sessions 1,4,16"})
public final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing benchmark: try 'splitllm bench engine'");
    }
}
