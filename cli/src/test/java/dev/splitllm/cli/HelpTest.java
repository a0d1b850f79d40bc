package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Help that reads well in any terminal: every example of every command parses as written, stays on one line at any width, every option is described, the command
 * list has whole sentences, and a usage error is one line plus where the help is.
 */
class HelpTest {

    /** Every command line under {@code cl}, itself included. */
    static List<CommandLine> all(CommandLine cl) {
        List<CommandLine> out = new ArrayList<>(List.of(cl));
        for (CommandLine sub : cl.getSubcommands().values()) {
            if (!sub.getCommandName().equals("help")) out.addAll(all(sub));
        }
        return out;
    }

    /** The example lines of a command's help ("  ./splitllm ..."). */
    static List<String> examples(CommandLine cl) {
        List<String> out = new ArrayList<>();
        for (String line : cl.getCommandSpec().usageMessage().footer()) {
            // An example may set environment variables first: "  SPLITLLM_TOKENS=secret ./splitllm serve".
            String cmd = line.startsWith("  ") ? line.substring(2).replaceFirst("^([A-Z_]+=\\S+ )+", "") : "";
            if (cmd.startsWith("./splitllm")) out.add(cmd);
        }
        return out;
    }

    /** Splits a shell command line into words: double and single quotes, no other shell syntax. */
    static List<String> words(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean inWord = false;
        char quote = 0;
        for (char ch : line.toCharArray()) {
            if (quote != 0) {
                if (ch == quote) quote = 0;
                else w.append(ch);
            } else if (ch == '"' || ch == '\'') {
                quote = ch;
                inWord = true;
            } else if (ch == ' ') {
                if (inWord) out.add(w.toString());
                w.setLength(0);
                inWord = false;
            } else {
                assertFalse(ch == '\\' || ch == '|' || ch == ';' || ch == '&', "shell syntax in an example: " + line);
                w.append(ch);
                inWord = true;
            }
        }
        assertEquals(0, quote, "unbalanced quote: " + line);
        if (inWord) out.add(w.toString());
        return out;
    }

    @Test
    void everyExampleOfEveryCommandParsesAsWritten() {
        int n = 0;
        for (CommandLine cl : all(Main.newCommandLine())) {
            List<String> ex = examples(cl);
            assertFalse(ex.isEmpty(), "'" + cl.getCommandSpec().qualifiedName() + " --help' has no example");
            for (String line : ex) {
                List<String> w = words(line);
                assertEquals("./splitllm", w.get(0), line);
                String[] args = w.subList(1, w.size()).toArray(String[]::new);
                try {
                    Main.newCommandLine().parseArgs(args);
                } catch (CommandLine.ParameterException e) {
                    fail("example does not parse: " + line + "\n  " + e.getMessage());
                }
                n++;
            }
        }
        assertTrue(n >= 25, "examples checked: " + n);
    }

    @Test
    void examplesAreNeverWrappedAtAnyWidth() {
        for (int width : new int[] {60, 80, 200}) {
            for (CommandLine cl : all(Main.newCommandLine())) {
                cl.setUsageHelpWidth(width);
                String help = cl.getUsageMessage();
                for (String line : examples(cl)) {
                    assertTrue(help.contains(line + System.lineSeparator()), "width " + width + ": '" + line + "' is not one line in\n" + help);
                }
            }
        }
    }

    @Test
    void descriptionsWrapAtSpacesOnlyAndNothingWrapsWhenPiped() {
        assertEquals("see ~/.cache/splitllm" + System.lineSeparator() + "for it", Main.wrap("see ~/.cache/splitllm for it", 22));
        Run r = Run.of("plan", "--help"); // tests have no terminal: the unwrapped width
        assertTrue(r.out().contains("Jointly choose the split layer (0 = all cloud, L = all edge), the edge and cloud weight formats, the codec setting"),
                "the description is one paragraph: " + r);
    }

    @Test
    void everyOptionIsDescribed() {
        for (CommandLine cl : all(Main.newCommandLine())) {
            for (OptionSpec o : cl.getCommandSpec().options()) {
                String d = String.join(" ", o.description()).strip();
                assertFalse(d.isEmpty(), cl.getCommandSpec().qualifiedName() + " " + o.longestName() + " has no description");
            }
        }
    }

    @Test
    void commandListShowsOneWholeSentencePerCommand() {
        for (CommandLine cl : all(Main.newCommandLine())) {
            for (String name : cl.getSubcommands().keySet()) {
                String s = Main.SUMMARIES.get(name);
                assertNotNull(s, "no summary for '" + name + "' in Main.SUMMARIES");
                assertTrue(s.endsWith("."), s);
            }
        }
        Run r = Run.of("--help");
        assertTrue(r.out().contains("  plan         Choose split, weight formats, codec and sequence length under your limits."), r.toString());
    }

    @Test
    void usageErrorIsOneLineAndWhereTheHelpIs() {
        Run r = Run.of("generate", "--seed");
        assertEquals(2, r.code());
        assertEquals(List.of("splitllm: error: Missing required parameter for option '--seed' (<seed>)", "see './splitllm generate --help'"),
                r.err().lines().toList(), r.toString());
        Run b = Run.of("bench", "engine", "--runs", "0");
        assertEquals(2, b.code());
        assertTrue(b.err().endsWith("see './splitllm bench engine --help'" + System.lineSeparator()), b.toString());
        assertEquals(2, b.err().lines().count(), b.toString());
        Run t = Run.of("generat");
        assertTrue(t.err().contains("did you mean: generate"), t.toString());
        assertTrue(t.err().contains("see './splitllm --help'"), t.toString());
        assertTrue(t.err().lines().count() <= 3, t.toString());
    }
}
