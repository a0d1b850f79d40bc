package dev.splitllm.cli;

import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;
import picocli.CommandLine.Spec;

/**
 * The {@code splitllm} command: dispatches to one picocli class per subcommand. Exit codes:
 * 0 success, 1 runtime failure (a one-line message; the stack trace only with
 * {@code --verbose}), 2 usage error.
 */
@Command(name = "splitllm", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Edge-cloud split-computing runtime for LLMs. Each command has --help with examples."},
        subcommands = {FetchModelCommand.class, GenerateCommand.class, ChatCommand.class, DemoCommand.class, ServeCommand.class, EdgeCommand.class,
                ConvertCommand.class, ProfileCommand.class, CalibrateCommand.class, PlanCommand.class,
                EvalCommand.class,
                BenchCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 runtime failure, 2 usage error.", "",
                "Examples:", "  ./splitllm demo", "  ./splitllm generate --prompt \"Once upon a time\" -n 64 --temperature 0",
                "  ./splitllm plan --memory 48MB --uplink 10mbit --rtt 50ms"})
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

    /** One complete sentence per command for the command list (picocli would cut the description's first line). */
    static final Map<String, String> SUMMARIES = Map.ofEntries(
            Map.entry("fetch-model", "Fetch and verify the built-in stories15M model (once; cached)."),
            Map.entry("generate", "Generate text with the whole model on this machine (no split)."),
            Map.entry("chat", "Chat with a GGUF model through its chat template, one user turn per line."),
            Map.entry("demo", "Split inference end to end on loopback: cloud server + edge agent, a story, a summary."),
            Map.entry("serve", "Run the cloud server (REST, WebSocket sessions, OpenAI-compatible API, /dashboard)."),
            Map.entry("edge", "Run the edge half of a split against a cloud server."),
            Map.entry("convert", "Convert a model to GGUF or a safetensors directory, quantizing on the way."),
            Map.entry("profile", "Measure this machine (device profile) or a link (link profile) for the planner."),
            Map.entry("calibrate", "Measure bits per element and quality per split layer and codec (calibration table)."),
            Map.entry("plan", "Choose split, weight formats, codec and sequence length under your limits."),
            Map.entry("eval", "Evaluate split configurations against the unsplit model (PPL, agreement, KL, bits)."),
            Map.entry("bench", "Benchmarks that print figures: engine, weights, codec, runtime, plan, link, cloud, speculative, move."),
            Map.entry("engine", "Decode speed of the engine (greedy, tok/s per run and the median)."),
            Map.entry("weights", "Decode speed of the whole model at each weight format."),
            Map.entry("codec", "Activation codec speed and bits per element on synthetic rows."),
            Map.entry("runtime", "Split runtime over loopback: per-token breakdown and concurrent sessions."),
            Map.entry("link", "TTFT and per-token latency of cloud-only, split and edge-only over an emulated link."),
            Map.entry("cloud", "Server-only throughput: recorded frames from many sessions over loopback, batched and unbatched."),
            Map.entry("move", "Moving the cut mid-session: KV up, KV down or recompute, measured against the cost model."),
            Map.entry("adaptive", "The adaptive cut against a fixed one when the link changes mid-generation (mirror on)."),
            Map.entry("speculative", "Speculation across the cut: each drafter against the plain split over an emulated link."),
            Map.entry("help", "Display help for a command."));

    /** Help width when stdout is not a terminal: wide enough that nothing wraps (piped help stays pasteable). */
    static final int UNWRAPPED_WIDTH = 10_000;

    /** A configured command line (tests set its out/err writers). */
    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Main::handleFailure);
        cl.setParameterExceptionHandler(Main::handleUsageError);
        if (System.console() != null) {
            cl.setUsageHelpAutoWidth(true); // descriptions wrap at the terminal's width
        } else {
            cl.setUsageHelpWidth(UNWRAPPED_WIDTH);
        }
        configureHelp(cl);
        return cl;
    }

    /**
     * Help sections for every command: the description as one paragraph wrapped at spaces only,
     * examples (the footer) printed exactly as written, one per line, never wrapped, and the
     * command list with one whole sentence per command.
     */
    private static void configureHelp(CommandLine cl) {
        cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_DESCRIPTION, help -> {
            String[] lines = help.commandSpec().usageMessage().description();
            if (lines.length == 0) return "";
            return wrap(String.join(" ", lines), help.commandSpec().usageMessage().width()) + System.lineSeparator();
        });
        cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_FOOTER, help -> {
            StringBuilder sb = new StringBuilder();
            for (String line : help.commandSpec().usageMessage().footer()) {
                sb.append(line.replace("%%", "%")).append(System.lineSeparator());
            }
            return sb.toString();
        });
        cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST, help -> {
            Map<String, CommandLine> subs = help.commandSpec().subcommands();
            if (subs.isEmpty()) return "";
            int w = subs.keySet().stream().mapToInt(String::length).max().orElse(0);
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<String, CommandLine> e : subs.entrySet()) {
                String summary = SUMMARIES.getOrDefault(e.getKey(), String.join(" ", e.getValue().getCommandSpec().usageMessage().description()));
                sb.append(String.format("  %-" + w + "s  %s%n", e.getKey(), summary));
            }
            return sb.toString();
        });
        for (CommandLine sub : cl.getSubcommands().values()) {
            configureHelp(sub);
        }
    }

    /** Word-wraps at spaces only (never inside a word or a path), at {@code width} columns. */
    static String wrap(String text, int width) {
        StringBuilder out = new StringBuilder();
        int col = 0;
        for (String word : text.trim().split(" +")) {
            if (col > 0 && col + 1 + word.length() > width) {
                out.append(System.lineSeparator());
                col = 0;
            } else if (col > 0) {
                out.append(' ');
                col++;
            }
            out.append(word);
            col += word.length();
        }
        return out.toString();
    }

    public static void main(String[] args) {
        System.exit(newCommandLine().execute(args));
    }

    /** A usage error: the one line that says what is wrong, and where the help is; not the whole help. */
    private static int handleUsageError(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("splitllm: error: " + ex.getMessage());
        if (ex instanceof UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            err.println("did you mean: " + String.join(", ", u.getSuggestions()) + "?");
        }
        err.println("see '" + helpCommand(cmd) + "'");
        err.flush();
        return EXIT_USAGE;
    }

    /** "./splitllm bench engine --help" for a (sub)command. */
    static String helpCommand(CommandLine cmd) {
        String path = cmd.getCommandSpec().qualifiedName(" ").replaceFirst("^splitllm ?", "");
        return "./splitllm " + (path.isEmpty() ? "" : path + " ") + "--help";
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
