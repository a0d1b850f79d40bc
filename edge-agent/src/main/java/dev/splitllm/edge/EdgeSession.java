package dev.splitllm.edge;

import dev.splitllm.engine.tokenizer.TextStream;
import dev.splitllm.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One generation stream split between this device and a cloud server: the SDK's entry point.
 *
 * <pre>{@code
 * try (EdgeModel model = EdgeModel.load(checkpoint, tokenizer, 3, 2);
 *      EdgeSession session = EdgeSession.open(model, EdgeOptions.defaults(server, token))) {
 *     GenerationResult r = session.generate("Once upon a time", 64, (id, text, stats) -> System.out.print(text));
 * }
 * }</pre>
 *
 * <p>The edge embeds and runs blocks [0, split) with its own KV cache, encodes the hidden state
 * of each step into a frame and sends it up the session's WebSocket; the cloud answers each
 * step with the sampled token. The frame of the step in flight is kept until its token
 * arrives: if the link drops, the edge reconnects and resends it, and the server's step
 * numbering makes the resend harmless. One session runs one generation.
 *
 * <p>Like the cloud, the work is split in two: an {@link EdgeStepper} (embed, forward, encode;
 * no network) and an {@link EdgeLink} (REST, WebSocket, reconnect and resend); this class only
 * runs the token loop between them. {@link #cancel} may be called from any thread.
 */
public final class EdgeSession implements AutoCloseable {
    /** Stop reason of a generation ended by {@link #cancel}. */
    public static final String CANCELLED = "cancelled";

    private final EdgeModel model;
    private final EdgeLink link;
    private final EdgeStepper stepper;
    private boolean used;
    private boolean closed;

    private EdgeSession(EdgeModel model, EdgeLink link, EdgeStepper stepper) {
        this.model = model;
        this.link = link;
        this.stepper = stepper;
    }

    /** Creates the cloud half of a session ({@code POST /v1/sessions}). */
    public static EdgeSession open(EdgeModel model, EdgeOptions options) {
        EdgeLink link = EdgeLink.open(options, model.splitLayer(), model.config().dim());
        try {
            EdgeStepper stepper = new EdgeStepper(model, options.codec(), options.maxSeqLen(), link.created().frameSession());
            return new EdgeSession(model, link, stepper);
        } catch (RuntimeException | Error e) {
            link.close();
            throw e;
        }
    }

    public String sessionId() {
        return link.created().sessionId();
    }

    /**
     * The failovers of this session so far: each time the replica holding it was lost or drained,
     * the edge replayed its log to another replica (what it cost is in each entry).
     */
    public java.util.List<Failover> failovers() {
        return link.failovers();
    }

    /**
     * Bytes of the replay log: the frames sent so far, kept so that a lost replica costs one replay
     * (bounded by the session's max length; about one decode frame per token).
     */
    public long replayLogBytes() {
        return link.log().bytes();
    }

    /** Bytes this device holds for the session: front-segment weights plus its KV cache. */
    public long residentBytes() {
        return model.weightBytes() + stepper.kvBytes();
    }

    /**
     * Generates up to {@code maxTokens} tokens after {@code prompt}, calling {@code listener} for
     * each as it arrives. Stops at the model's end of sequence (EOS, or BOS for llama2.c models), at
     * maxTokens, when the context is full, or at {@link #cancel} (stop reason {@value #CANCELLED};
     * the step in flight is abandoned).
     */
    public GenerationResult generate(String prompt, int maxTokens, TokenListener listener) {
        return generate(prompt, maxTokens, false, listener);
    }

    /** As {@link #generate(String, int, TokenListener)}; {@code ignoreEndOfSequence} runs on past EOS/BOS (like generate --ignore-eos). */
    public GenerationResult generate(String prompt, int maxTokens, boolean ignoreEndOfSequence, TokenListener listener) {
        if (closed) throw new IllegalStateException("session is closed");
        if (used) throw new IllegalStateException("a session runs one generation; open another for a new prompt");
        if (maxTokens < 1) throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        used = true;
        Tokenizer tok = model.tokenizer();
        int[] promptIds = tok.encode(prompt, true);
        stepper.checkPrompt(promptIds);
        long wall0 = System.nanoTime();
        TextStream text = new TextStream(tok, promptIds[promptIds.length - 1]);
        StringBuilder story = new StringBuilder();
        List<StepStats> steps = new ArrayList<>();
        int[] generated = new int[maxTokens];
        int count = 0;
        int maxFrameBytes = link.created().maxFrameBytes();
        String stop = null;
        while (stop == null) { // bounded: every pass adds a token or stops, and maxTokens ends it
            if (link.cancelled()) {
                stop = CANCELLED;
                break;
            }
            EdgeStepper.Step step = count == 0 ? stepper.prefill(promptIds) : stepper.decode(generated[count - 1]);
            if (step.frame().length > maxFrameBytes) {
                throw new EdgeException("too_large", "step " + step.step() + " frame is " + step.frame().length
                        + " bytes; the server accepts " + maxFrameBytes + " (shorten the prompt or use a smaller codec)");
            }
            long sent = System.nanoTime();
            EdgeLink.Answer answer;
            try {
                answer = link.exchange(step.frame(), step.step(), step.tokens());
            } catch (EdgeLink.Cancelled e) {
                stop = CANCELLED;
                break;
            }
            long received = System.nanoTime();
            StepStats stats = new StepStats(step.step(), step.tokens(), step.edgeMs(), step.encodeMs(), step.frame().length,
                    (received - sent) / 1e6, answer.token().cloudMs(), answer.reconnects());
            // The edge's own figures for the server's dashboard: queued, never awaited (docs/PROTOCOL.md, "Timing").
            link.sendTiming(stats.step(), stats.edgeMs(), stats.encodeMs(), stats.networkCloudMs());
            steps.add(stats);
            int token = answer.token().token();
            generated[count++] = token;
            String piece = text.next(token);
            story.append(piece);
            listener.onToken(token, piece, stats);
            // A cancel from the listener (or meanwhile from another thread) ends the loop here.
            stop = link.cancelled() ? CANCELLED : stepper.stopReason(token, count, maxTokens, ignoreEndOfSequence);
        }
        story.append(text.flush());
        return new GenerationResult(promptIds, Arrays.copyOf(generated, count), story.toString(), List.copyOf(steps),
                (System.nanoTime() - wall0) / 1e6, stop);
    }

    /**
     * Stops a running {@link #generate} promptly, from any thread (a listener callback included):
     * it returns the tokens received so far with stop reason {@value #CANCELLED}. A generate
     * started after a cancel returns at once. The cloud session stays until {@link #close}.
     */
    public void cancel() {
        link.cancel();
    }

    /**
     * Kills the live socket without a close handshake, as a lost link would; the session notices
     * on its next send or wait (tests use it to simulate link loss).
     */
    void dropConnection() {
        link.dropConnection();
    }

    /** Closes the stream and the cloud session ({@code DELETE /v1/sessions/{id}}). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            link.close();
        } finally {
            stepper.close();
        }
    }
}
