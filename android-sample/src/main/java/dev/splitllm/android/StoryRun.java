package dev.splitllm.android;

import dev.splitllm.edge.EdgeException;
import dev.splitllm.edge.EdgeModel;
import dev.splitllm.edge.EdgeOptions;
import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.GenerationResult;
import dev.splitllm.engine.kernels.KernelProvider;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.util.Locale;
import java.util.concurrent.CancellationException;

/**
 * One generation, run on the app's worker thread: gets the edge model, opens a session with the
 * cloud, streams the story to a {@link StoryView}, and closes the session however it ends. Every
 * failure (bad settings, missing model, refused token, unreachable server, lost link) ends in
 * {@link StoryView#failed} with a readable message instead of an exception. {@link #cancel}
 * stops it promptly, even in the middle of a wait for the cloud ({@link EdgeSession#cancel});
 * the session is closed on the way out.
 */
public final class StoryRun implements Runnable {
    private final ModelSlot model;
    private final String prompt;
    private final String server;
    private final String token;
    private final int maxTokens;
    private final StoryView view;
    private volatile boolean cancelled;
    /** The open session, so {@link #cancel} can end a wait for the cloud at once. */
    private volatile EdgeSession session;

    public StoryRun(ModelSlot model, String prompt, String server, String token, int maxTokens, StoryView view) {
        this.model = model;
        this.prompt = prompt;
        this.server = server;
        this.token = token;
        this.maxTokens = maxTokens;
        this.view = view;
    }

    /**
     * Moves the cut toward the cloud on memory pressure only: its latency rule is switched off (a
     * saving must exceed 1e9 times the move's cost), so the sample keeps the split it was given
     * unless the system asks for memory.
     */
    private final dev.splitllm.edge.MoveController controller = new dev.splitllm.edge.MoveController(0, 0, 1e9, 8);

    /**
     * The app went to the background ({@code onStop}): the cloud takes the rest of the generation
     * (the edge's KV goes up; the cloud generates alone and its tokens keep coming while the process
     * lives). Thread-safe; ignored before the session exists.
     */
    public void handOff() {
        EdgeSession s = session;
        if (s != null) s.handOff();
    }

    /**
     * The system is short of memory ({@code onTrimMemory}): the edge's KV must fit in {@code bytes}
     * from now on; the controller moves the cut toward the cloud until it does.
     */
    public void memoryBudget(long bytes) {
        controller.memoryBudget(bytes);
    }

    /** Asks the run to stop; it closes its session and reports nothing more. */
    public void cancel() {
        cancelled = true;
        EdgeSession s = session;
        if (s != null) {
            s.cancel(); // thread-safe: generate returns promptly, the run then closes the session
        }
    }

    @Override
    public void run() {
        try {
            EdgeOptions options = options();
            EdgeModel edge = model.get();
            if (cancelled) return;
            view.started(kernelsLine(edge));
            StatsLine stats = new StatsLine();
            try (EdgeSession session = EdgeSession.open(edge, options, dev.splitllm.edge.Speculation.none(),
                    dev.splitllm.edge.MoveOptions.none().withController(controller))) {
                this.session = session;
                if (cancelled) return; // cancelled while the session was being created; closed on the way out
                GenerationResult r = session.generate(prompt, maxTokens, (id, piece, step) -> {
                    if (cancelled) throw new CancellationException("the activity went away");
                    stats.add(step);
                    view.token(piece, stats.text());
                });
                if (!cancelled) {
                    view.finished(String.format(Locale.ROOT, "done: %d tokens (%s), %.0f ms",
                            r.tokens().length, r.stopReason(), r.wallMs()));
                }
            }
        } catch (CancellationException e) {
            // the activity is gone; nobody to tell
        } catch (EdgeException e) {
            report(describe(e));
        } catch (FileNotFoundException e) {
            report(e.getMessage());
        } catch (IOException e) {
            report("cannot read the model: " + e);
        } catch (IllegalArgumentException e) {
            report("invalid setting: " + e.getMessage());
        } catch (RuntimeException e) {
            report("generation failed: " + e);
        }
    }

    private EdgeOptions options() {
        URI uri;
        try {
            uri = URI.create(server.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("server URL '" + server + "' is not a URL");
        }
        return EdgeOptions.defaults(uri, token.trim());
    }

    private void report(String message) {
        if (!cancelled) view.failed(message);
    }

    static String describe(EdgeException e) {
        switch (e.code()) {
            case "unauthorized":
                return "the server refused the token: " + e.getMessage();
            case "link":
                return "cannot reach the server: " + e.getMessage();
            default:
                return "cloud error (" + e.code() + "): " + e.getMessage();
        }
    }

    static String kernelsLine(EdgeModel edge) {
        String why = KernelProvider.whyNotVector();
        return "kernels: " + edge.kernelName() + (why.isEmpty() ? "" : " (" + why + ")");
    }
}
