package dev.splitllm.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * The {@code splitllm} command: dispatches to one picocli class per subcommand. Exit codes:
 * 0 success, 1 runtime failure (a one-line message; the stack trace only with
 * {@code --verbose}), 2 usage error.
 */
@Command(name = "splitllm", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Edge-cloud split-computing runtime for LLMs. The commands below exist today;",
                "each has --help with an example."},
        subcommands = {FetchModelCommand.class, GenerateCommand.class, DemoCommand.class, ServeCommand.class, EdgeCommand.class,
                ConvertCommand.class, ProfileCommand.class, CalibrateCommand.class, PlanCommand.class,
                EvalCommand.class,
                BenchCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 runtime failure, 2 usage error.", "",
                "Example:", "  ./splitllm demo", "  ./splitllm generate --prompt \"Once upon a time\" -n 64 --temperature 0"})
public final class Main implements Callable<Integer> {
    /** Exit code of a runtime failure. */
    public static final int EXIT_FAILURE = 1;
    /** Exit code of a usage error (picocli's default). */
    public static final int EXIT_USAGE = 2;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing command");
    }

    /** A configured command line (tests set its out/err writers). */
    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Main::handleFailure);
        return cl;
    }

    public static void main(String[] args) {
        System.exit(newCommandLine().execute(args));
    }

    private static int handleFailure(Exception ex, CommandLine cl, ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (verbose(parsed)) {
            ex.printStackTrace(err);
        }
        err.println("splitllm: error: " + oneLine(ex));
        err.flush();
        return EXIT_FAILURE;
    }

    /** The message for the user, prefixed with the exception type where the type adds meaning. */
    static String oneLine(Throwable ex) {
        String msg = ex.getMessage();
        if (ex instanceof OutOfMemoryError) {
            msg = "out of memory (raise the heap with JAVA_OPTS=-Xmx...)";
        } else if (msg == null || msg.isBlank()) {
            msg = ex.getClass().getSimpleName();
        } else if (!(ex instanceof CliFailure) && !(ex instanceof java.io.IOException)
                && !(ex instanceof IllegalArgumentException) && !(ex instanceof IllegalStateException)) {
            msg = ex.getClass().getSimpleName() + ": " + msg;
        }
        return msg; // one line, except a failed npm pack, whose output is quoted below it
    }

    private static boolean verbose(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /** Prints the version of splitllm and the Java runtime. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"splitllm " + (v == null ? "(development build)" : v),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }
}
