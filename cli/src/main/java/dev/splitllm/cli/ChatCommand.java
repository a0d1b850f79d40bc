package dev.splitllm.cli;

import dev.splitllm.chat.ChatSession;
import dev.splitllm.chat.ChatTemplate;
import dev.splitllm.chat.EndOfTurn;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.sample.Sampler;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code splitllm chat}: an interactive conversation with a GGUF model that carries a chat
 * template. Each input line is a user turn; the history is kept and rendered with the model's
 * template ({@link ChatSession}); a reply stops at the model's end-of-turn tokens. Works with
 * stdin piped (one turn per line), which is how it is tested.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Chat with a GGUF model using its tokenizer.chat_template: one user turn per input line,",
                "history kept, replies stop at the model's end-of-turn tokens. Ctrl-D (end of input) ends the chat."},
        footer = {"", "Example:", "  ./splitllm chat --model qwen2-0.5b-instruct-q8_0.gguf --temperature 0",
                "  printf 'Hello\\nTell me more\\n' | ./splitllm chat --model m.gguf -n 64"})
public final class ChatCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "256", paramLabel = "N",
            description = "Most tokens per reply (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = {"-t", "--temperature"}, defaultValue = "0.7", description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", defaultValue = "0.9", description = "Nucleus sampling mass (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", description = "Sampling seed (default: from the clock).")
    Long seed;

    @Option(names = "--system", paramLabel = "TEXT", description = "A system message to start the conversation with.")
    String system;

    @Override
    public Integer call() throws IOException {
        if (maxTokens < 1) throw new CliFailure("--max-tokens must be at least 1");
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ModelLoader.Loaded m = ModelLoader.load(shared, System.err);
        ChatTemplate template;
        try {
            template = ChatTemplate.fromGguf(m.modelFile());
        } catch (IOException e) {
            throw new CliFailure("chat needs a GGUF model with a chat template; " + m.modelFile() + ": " + e.getMessage());
        }
        if (template == null) {
            throw new CliFailure(m.modelFile() + " has no tokenizer.chat_template; chat needs one");
        }
        Set<Integer> stop = EndOfTurn.ids(m.modelFile());
        Sampler sampler = new Sampler(temperature, topP, seed != null ? seed : System.nanoTime());
        try (ThreadTeam team = new ThreadTeam(shared.threads())) {
            ChatSession chat = new ChatSession(new Transformer(m.weights(), KernelProvider.best(), team), m.tokenizer(),
                    template, stop, system);
            err.println("chat: " + m.modelFile().getFileName() + ", end-of-turn ids " + stop + "; one line per turn, end of input to quit");
            err.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isBlank()) continue;
                out.print("assistant: ");
                try {
                    chat.reply(line, maxTokens, sampler, piece -> {
                        out.print(piece);
                        out.flush();
                    });
                } catch (IllegalArgumentException e) {
                    throw new CliFailure(e.getMessage());
                }
                out.println();
                out.flush();
            }
        }
        return 0;
    }
}
