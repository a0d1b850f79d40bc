package dev.splitllm.edge;

import dev.splitllm.engine.draft.DraftPolicy;
import dev.splitllm.engine.draft.Proposer;
import dev.splitllm.engine.tokenizer.TextStream;
import dev.splitllm.quantization.wire.Draft;
import dev.splitllm.quantization.wire.FrameCodec;
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
    /** Stop reason of a generation ended by {@link #detach}: the cloud session stays for a restore. */
    public static final String DETACHED = "detached";

    private final EdgeModel model;
    private final EdgeLink link;
    private final EdgeStepper stepper;
    private final EdgeOptions options;
    private final Speculation speculation;
    private final MoveOptions moves;
    private final MoveCostModel costs;
    private final List<MoveEvent> moveEvents = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** A split asked for by {@link #requestMove} (any thread), taken before the next step; -1 for none. */
    private final java.util.concurrent.atomic.AtomicInteger requestedSplit = new java.util.concurrent.atomic.AtomicInteger(-1);
    private volatile java.util.function.Consumer<MoveEvent> moveListener = e -> { };
    private boolean used;
    private boolean closed;
    /** Set by {@link #handOff} (any thread): the loop hands the generation to the cloud before its next step. */
    private volatile boolean handOffRequested;
    private volatile HandOffEvent handOffEvent;
    private volatile java.util.function.Consumer<HandOffEvent> handOffListener = e -> { };
    /** A restored session's prompt ids (from the cloud, or the app's prompt). */
    private int[] restoredPrompt;
    /** How a restore rebuilt the edge's layers: mirror, recompute, or cloud (cut 0: nothing to rebuild); null otherwise. */
    private String restoredFrom;

    /** How {@link #restore} rebuilt the edge's layers: {@code mirror} (the cloud's mirror, the rest recomputed), {@code recompute}, {@code cloud} (the session was at cut 0); null for a session not restored. */
    public String restoredFrom() {
        return restoredFrom;
    }
    /** Positions of the edge's layers the mirror has put on the cloud, and its bytes so far. */
    private int mirrored;
    private long mirrorBytesSent;
    private long mirrorBytesBeforeStep;
    private int failoversSeen;
    /** Tokens in all once a hand-off's stream ended (read by the loop). */
    private int handedCount;

    private EdgeSession(EdgeModel model, EdgeLink link, EdgeStepper stepper, EdgeOptions options, Speculation speculation,
                        MoveOptions moves) {
        this.moves = moves;
        this.costs = new MoveCostModel().withShapes(model.config());
        this.model = model;
        this.link = link;
        this.stepper = stepper;
        this.options = options;
        this.speculation = speculation;
    }

    /** Creates the cloud half of a session ({@code POST /v1/sessions}); one round trip per token. */
    public static EdgeSession open(EdgeModel model, EdgeOptions options) {
        return open(model, options, Speculation.none());
    }

    /**
     * Creates the cloud half of a session that speculates: each step carries the drafter's guesses
     * for the cloud to verify in one round trip (the tokens are exactly those of the plain protocol
     * when greedy, and distributed exactly as them when sampling). Against a server that takes no
     * drafts it runs the plain protocol.
     */
    public static EdgeSession open(EdgeModel model, EdgeOptions options, Speculation speculation) {
        return open(model, options, speculation, MoveOptions.none());
    }

    /**
     * As {@link #open(EdgeModel, EdgeOptions, Speculation)}, with the cut free to move mid-session
     * (scripted, requested, or by a controller): docs/PROTOCOL.md, "Moving the cut". The model must
     * hold the blocks of every split the edge may take ({@link EdgeModel#reach()}).
     */
    public static EdgeSession open(EdgeModel model, EdgeOptions options, Speculation speculation, MoveOptions moves) {
        if (moves.deepestSplit(model.splitLayer()) > model.reach()) {
            throw new IllegalArgumentException("the moves reach split " + moves.deepestSplit(model.splitLayer())
                    + " but the edge model holds blocks [0, " + model.reach() + "); load it with that reach");
        }
        if (speculation.enabled() && speculation.drafter() instanceof dev.splitllm.engine.draft.ModelDrafter md
                && md.vocabSize() != model.config().vocabSize()) {
            throw new IllegalArgumentException("the draft model's vocabulary (" + md.vocabSize() + ") differs from the model's ("
                    + model.config().vocabSize() + "): a draft model must share the tokenizer");
        }
        EdgeLink link = EdgeLink.open(options, model.splitLayer(), model.config().dim());
        try {
            EdgeStepper stepper = new EdgeStepper(model, options.codec(), options.maxSeqLen(), link.created().frameSession())
                    .compactFrames(link.created().maxFrameVersion() >= FrameCodec.COMPACT_VERSION);
            return new EdgeSession(model, link, stepper, options, speculation, moves);
        } catch (RuntimeException | Error e) {
            link.close();
            throw e;
        }
    }

    /**
     * Takes back, in a new process, a session an earlier edge process left (handed off to the cloud,
     * or just killed; docs/PROTOCOL.md, "Hand-off and restore"): the cloud stops generating alone,
     * starts a new epoch, and answers with the tokens so far; this edge rebuilds the KV of its layers
     * (recomputing from the prompt and the tokens, or, for a handed-off session, taking it from the
     * cloud with a move when {@link MoveOptions#down} or the cost model says so) and goes on with
     * {@link #resume}. Greedy and seeded sessions then give exactly the tokens of an undisturbed run.
     *
     * @param prompt the session's prompt; may be null when the session was handed off (the cloud kept
     *               its ids), must be the original prompt otherwise
     */
    public static EdgeSession restore(EdgeModel model, EdgeOptions options, String sessionId, String prompt, MoveOptions moves) {
        if (moves.deepestSplit(model.splitLayer()) > model.reach()) {
            throw new IllegalArgumentException("the moves reach split " + moves.deepestSplit(model.splitLayer())
                    + " but the edge model holds blocks [0, " + model.reach() + ")");
        }
        EdgeLink link = EdgeLink.restore(options, sessionId, model.config().dim());
        try {
            dev.splitllm.quantization.protocol.SessionRestored r = link.restored();
            int[] promptIds = r.prompt();
            if (promptIds == null) {
                if (prompt == null) {
                    throw new IllegalArgumentException("session " + sessionId + " was not handed off, so the cloud does not know "
                            + "its prompt: pass the original prompt");
                }
                promptIds = model.tokenizer().encode(prompt, true);
            } else if (prompt != null && !java.util.Arrays.equals(promptIds, model.tokenizer().encode(prompt, true))) {
                throw new IllegalArgumentException("the prompt given differs from session " + sessionId + "'s own");
            }
            int positions = promptIds.length + r.tokens().length - 1;
            if (positions != r.positions()) {
                throw new EdgeException("bad_restore", "a prompt of " + promptIds.length + " tokens and " + r.tokens().length
                        + " generated make " + positions + " positions; session " + sessionId + " holds " + r.positions()
                        + (r.prompt() == null ? " (is it the session's prompt?)" : ""));
            }
            EdgeOptions sessionOptions = options.withCodec(dev.splitllm.quantization.codec.CodecSpec.parse(r.session().codec()))
                    .withMaxSeqLen(r.session().maxSeqLen());
            EdgeStepper stepper = new EdgeStepper(model, sessionOptions.codec(), sessionOptions.maxSeqLen(), r.session().frameSession())
                    .compactFrames(r.session().maxFrameVersion() >= FrameCodec.COMPACT_VERSION);
            int[] tokens = new int[positions];
            System.arraycopy(promptIds, 0, tokens, 0, promptIds.length);
            System.arraycopy(r.tokens(), 0, tokens, promptIds.length, positions - promptIds.length);
            int at = r.session().splitLayer();
            // A handed-off session (cut 0) comes back to this edge's cut by a move, so the cloud can send
            // the KV down; a session left at a cut is rebuilt there from the tokens.
            // The cloud's mirror of the edge's layers, when it covers the prompt, saves recomputing those positions.
            dev.splitllm.quantization.kv.KvDelta base = null;
            if (at > 0 && r.mirrored() >= promptIds.length) {
                byte[] frame = link.mirrorDown();
                try {
                    base = frame == null ? null : dev.splitllm.quantization.kv.KvDeltaCodec.decode(frame,
                            new dev.splitllm.quantization.kv.KvLimits(0, at, sessionOptions.maxSeqLen(), model.config().kvDim(),
                                    Integer.MAX_VALUE - 16, r.session().epoch()));
                    if (base != null && (base.sessionTag() != r.session().frameSession() || base.positions() > positions)) base = null;
                } catch (dev.splitllm.quantization.kv.KvFrameException e) {
                    base = null; // recompute instead
                }
            }
            stepper.restoreAt(at, tokens, promptIds.length, positions, r.nextStep(), base);
            EdgeSession session = new EdgeSession(model, link, stepper, sessionOptions, Speculation.none(), moves);
            session.restoredPrompt = promptIds;
            session.restoredFrom = base != null ? "mirror" : at > 0 ? "recompute" : "cloud";
            session.mirrored = r.mirrored(); // the new edge's mirror goes on where the cloud's ends
            if (stepper.split() != model.splitLayer()) {
                session.moveCut(model.splitLayer(), "restore", tokens, promptIds.length);
            }
            return session;
        } catch (RuntimeException | Error e) {
            link.detach(); // the session stays on the cloud for another try
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

    /** Bytes this device holds for the session: front-segment weights, its KV cache, and the drafter's weights and KV. */
    public long residentBytes() {
        return model.weightBytes() + stepper.kvBytes() + (speculation.enabled() ? speculation.drafter().residentBytes() : 0);
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
        if (link.restored() != null) throw new IllegalStateException("a restored session goes on with resume(), not generate()");
        if (maxTokens < 1) throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        used = true;
        int[] promptIds = model.tokenizer().encode(prompt, true);
        stepper.checkPrompt(promptIds);
        return run(promptIds, new int[0], null, maxTokens, ignoreEndOfSequence, listener);
    }

    /**
     * Goes on with a session taken back by {@link #restore}: the tokens the session generated so far
     * (by the old edge and by the cloud alone) come first in the result, then new ones up to
     * {@code maxTokens} in all. Returns at once when the cloud's generation had already ended at EOS
     * or when maxTokens are there already.
     */
    public GenerationResult resume(int maxTokens, boolean ignoreEndOfSequence, TokenListener listener) {
        if (closed) throw new IllegalStateException("session is closed");
        dev.splitllm.quantization.protocol.SessionRestored r = link.restored();
        if (r == null) throw new IllegalStateException("resume() goes on with a restored session; use generate()");
        if (used) throw new IllegalStateException("a session runs one generation");
        if (maxTokens < 1) throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        used = true;
        return run(restoredPrompt, r.tokens(), r.stop(), maxTokens, ignoreEndOfSequence, listener);
    }

    /**
     * The token loop. {@code before} are tokens generated before this process (a restore: the first
     * frame is then a plain DECODE of the last of them), {@code beforeStop} why the cloud's own
     * generation ended, if it did.
     */
    private GenerationResult run(int[] promptIds, int[] before, String beforeStop, int maxTokens, boolean ignoreEndOfSequence,
                                 TokenListener listener) {
        Tokenizer tok = model.tokenizer();
        long wall0 = System.nanoTime();
        TextStream text = new TextStream(tok, promptIds[promptIds.length - 1]);
        StringBuilder story = new StringBuilder();
        List<StepStats> steps = new ArrayList<>();
        int[] generated = new int[Math.max(maxTokens, before.length)];
        int count = 0;
        int maxFrameBytes = link.created().maxFrameBytes();
        // The whole sequence so far (prompt, then generated), which drafters read and extend.
        int[] history = new int[options.maxSeqLen() + 1];
        System.arraycopy(promptIds, 0, history, 0, promptIds.length);
        int historyLength = promptIds.length;
        String stop = null;
        // A replay after a move re-encodes the steps before it at the current cut, from these tokens.
        int promptLength = promptIds.length;
        link.rebaser((cut, stepsBefore) -> stepper.cutFrames(cut, history, promptLength, stepsBefore));
        for (int t : before) { // a restore: the story so far
            generated[count++] = t;
            history[historyLength++] = t;
            story.append(text.next(t));
            stop = stepper.stopReason(t, count, maxTokens, ignoreEndOfSequence);
        }
        if (stop == null && "eos".equals(beforeStop) && !ignoreEndOfSequence) stop = "eos";
        boolean speculate = speculation.enabled() && link.created().maxDraft() > 0;
        DraftPolicy policy = speculate ? new DraftPolicy(speculation.k(), Math.min(link.created().maxDraft(), Draft.MAX_TOKENS)) : null;
        Proposer proposer = speculate ? new Proposer(options.temperature(), speculation.proposalWidth(), options.seed() ^ 0x5DEECE66DL) : null;
        float[] draftLogits = speculate ? new float[model.config().vocabSize()] : null;
        int scripted = 0; // the next scripted move
        while (scripted < moves.script().size() && moves.script().get(scripted).step() < stepper.nextStep()) scripted++;
        long lastMoveStep = stepper.nextStep();
        boolean justMoved = count > 0; // restored: both sides start a fresh codec state
        while (stop == null) { // bounded: every pass adds a token or stops, and maxTokens ends it
            if (link.cancelled()) {
                stop = link.detached() ? DETACHED : CANCELLED;
                break;
            }
            if (count > 0 && handOffRequested) {
                stop = handOffNow(promptIds, generated, count, maxTokens, ignoreEndOfSequence, listener, text, story, steps);
                count = handedCount;
                break;
            }
            if (count > 0) {
                int target = requestedSplit.getAndSet(-1);
                String reason = "request";
                List<MoveOptions.ScriptedMove> script = moves.script();
                if (target < 0 && scripted < script.size() && script.get(scripted).step() <= stepper.nextStep()) {
                    MoveOptions.ScriptedMove m = script.get(scripted++);
                    target = m.to();
                    reason = "script";
                }
                MoveController controller = moves.controller();
                if (target < 0 && controller != null) {
                    MoveController.Proposal proposal = controller.decide(costs, moves.kv(), stepper.split(),
                            model.config().nLayers(), stepper.position(), promptIds.length, model.config().kvDim(),
                            s -> dev.splitllm.engine.model.MemoryAccount.kvCacheBytes(model.config(), s, options.maxSeqLen()),
                            maxTokens - count, stepper.nextStep() - lastMoveStep, this::mirrorBytesPerToken, mirrored);
                    if (proposal != null && proposal.split() <= model.reach()) {
                        target = proposal.split();
                        reason = proposal.reason();
                    }
                }
                if (target >= 0 && target != stepper.split()) {
                    lastMoveStep = stepper.nextStep();
                    justMoved = moveCut(target, reason, history, promptIds.length);
                }
            }
            EdgeStepper.Step step;
            if (count == 0) {
                step = stepper.prefill(promptIds);
            } else if (justMoved) { // the first frame at a new cut is a plain step: it carries the new cut's channel set
                justMoved = false;
                step = stepper.decode(generated[count - 1]);
            } else {
                int k = speculate ? policy.nextK(Math.min(maxTokens - count - 1, options.maxSeqLen() - stepper.position() - 1)) : 0;
                // The stepper writes the drafts past historyLength: scratch until the answer says which stay.
                step = k > 0 ? stepper.draft(generated[count - 1], k, speculation.drafter(), proposer, history, historyLength,
                        draftLogits) : stepper.decode(generated[count - 1]);
            }
            if (step.frame().length > maxFrameBytes) {
                throw new EdgeException("too_large", "step " + step.step() + " frame is " + step.frame().length
                        + " bytes; the server accepts " + maxFrameBytes + " (shorten the prompt or use a smaller codec)");
            }
            long sent = System.nanoTime();
            EdgeLink.Answer answer;
            try {
                answer = link.exchange(step.frame(), step.step(), step.tokens());
            } catch (EdgeLink.Cancelled e) {
                stop = link.detached() ? DETACHED : CANCELLED;
                break;
            }
            long received = System.nanoTime();
            int drafted = step.draft() == null ? 0 : step.draft().size();
            int accepted = answer.token().accepted();
            if (drafted > 0) {
                link.commitDraft(step.step(), stepper.commit(accepted), accepted + 1, step.tokens());
            } else if (accepted != 0) {
                throw new EdgeException("protocol", "the cloud accepted " + accepted + " drafts of a step that carried none");
            }
            StepStats stats = new StepStats(step.step(), step.tokens(), step.edgeMs(), step.encodeMs(), step.frame().length,
                    (received - sent) / 1e6, answer.token().cloudMs(), answer.reconnects(), drafted, accepted, step.draftMs());
            if (policy != null && step.step() > 0) {
                double rows = step.tokens();
                double computeMs = step.edgeMs() - step.draftMs() + step.encodeMs() + stats.cloudMs();
                policy.record(drafted, accepted, stats.networkCloudMs() - stats.cloudMs(), computeMs / rows,
                        drafted == 0 ? 0 : step.draftMs() / drafted);
            }
            // The edge's own figures for the server's dashboard: queued, never awaited (docs/PROTOCOL.md, "Timing").
            link.sendTiming(stats.step(), stats.edgeMs(), stats.encodeMs(), stats.networkCloudMs());
            steps.add(stats);
            costs.observe(stats, stepper.split(), model.config().nLayers(), mirrorBytesBeforeStep);
            mirrorBytesBeforeStep = mirror(count + 1 + accepted);
            // The step's tokens: the kept drafts, then the cloud's token.
            for (int i = 0; i <= accepted && stop == null; i++) {
                int token = i < accepted ? step.draft().token(i) : answer.token().token();
                generated[count++] = token;
                history[historyLength++] = token;
                String piece = text.next(token);
                story.append(piece);
                listener.onToken(token, piece, stats);
                // A cancel from the listener (or meanwhile from another thread) ends the loop here.
                stop = link.cancelled() ? (link.detached() ? DETACHED : CANCELLED)
                        : stepper.stopReason(token, count, maxTokens, ignoreEndOfSequence);
                if (i < accepted && "context_full".equals(stop)) stop = null; // the kept drafts' positions are already in
            }
        }
        story.append(text.flush());
        return new GenerationResult(promptIds, Arrays.copyOf(generated, count), story.toString(), List.copyOf(steps),
                (System.nanoTime() - wall0) / 1e6, stop);
    }

    /**
     * Sends the mirror's next frame when {@link MirrorOptions#every} new positions are waiting and the
     * budget allows ({@code tokens}: tokens generated so far). Returns the bytes sent (0 for none).
     */
    private long mirror(int tokens) {
        MirrorOptions m = moves.mirror();
        if (link.failovers().size() != failoversSeen) { // a new replica holds no mirror
            failoversSeen = link.failovers().size();
            mirrored = 0;
        }
        if (m == null || stepper.split() == 0 || link.mirrorRefused() != null) return 0;
        int p = stepper.position();
        if (p - mirrored < m.every()) return 0;
        long bytes = dev.splitllm.quantization.kv.KvDeltaCodec.frameBytes(m.kind(), stepper.split(), p - mirrored,
                model.config().kvDim());
        if (m.budgetBytesPerToken() > 0 && mirrorBytesSent + bytes > m.budgetBytesPerToken() * (long) tokens) return 0;
        byte[] frame = stepper.kvFrame(0, m.kind(), link.epoch(), mirrored);
        if (!link.sendMirror(frame)) return 0;
        mirrored = p;
        mirrorBytesSent += frame.length;
        return frame.length;
    }

    /** The mirror's bytes per token at split {@code s} (0 without a mirror, or at cut 0). */
    private double mirrorBytesPerToken(int s) {
        MirrorOptions m = moves.mirror();
        if (m == null || s == 0 || link.mirrorRefused() != null) return 0;
        return dev.splitllm.quantization.kv.KvDeltaCodec.frameBytes(m.kind(), s, m.every(), model.config().kvDim()) / (double) m.every();
    }

    /**
     * Hands the generation to the cloud (see {@link #handOff}) and relays its tokens until the
     * cloud's generation ends; returns the stop reason and leaves the token count in {@link #handedCount}.
     */
    private String handOffNow(int[] promptIds, int[] generated, int count, int maxTokens, boolean ignoreEos,
                              TokenListener listener, TextStream text, StringBuilder story, List<StepStats> steps) {
        int from = stepper.split(), p = stepper.position();
        long step = stepper.nextStep();
        dev.splitllm.quantization.kv.KvSpec kind = moves.kv();
        int m = from > 0 && link.mirrorRefused() == null ? mirrored : 0;
        long t0 = System.nanoTime();
        byte[] kv = from > 0 && m < p ? stepper.kvFrame(0, kind, link.epoch(), m) : null;
        dev.splitllm.quantization.protocol.HandOffRequest req = new dev.splitllm.quantization.protocol.HandOffRequest(from,
                link.epoch(), step, p, m, kind.toString(), maxTokens - count, ignoreEos, promptIds);
        int[] n = {count};
        long[] last = {System.nanoTime()};
        EdgeLink.CloudTokens sink = new EdgeLink.CloudTokens() {
            @Override
            public void handedOff(dev.splitllm.quantization.protocol.HandedOff h) {
                if (from > 0) stepper.moveTowardCloud(0); // the cloud holds every layer now: free the edge's KV
                HandOffEvent e = new HandOffEvent(from, step, p, h.mirrored(), kv == null ? 0 : kv.length,
                        (System.nanoTime() - t0) / 1e6, h.cloudMs());
                handOffEvent = e;
                handOffListener.accept(e);
                last[0] = System.nanoTime();
            }

            @Override
            public void token(int index, int token) {
                if (n[0] >= generated.length) throw new EdgeException("protocol", "the cloud sent more than " + maxTokens + " tokens");
                generated[n[0]++] = token;
                String piece = text.next(token);
                story.append(piece);
                long now = System.nanoTime();
                StepStats stats = new StepStats(step + (n[0] - count) - 1, 1, 0, 0, 0, (now - last[0]) / 1e6, 0, 0);
                last[0] = now;
                steps.add(stats);
                listener.onToken(token, piece, stats);
            }
        };
        String end;
        try {
            end = link.handOff(req, kv, count, sink);
        } catch (EdgeException e) {
            if (m > 0 && "bad_mirror".equals(e.code())) { // the cloud's mirror is not what the edge thinks: send everything
                mirrored = 0;
                return handOffNow(promptIds, generated, count, maxTokens, ignoreEos, listener, text, story, steps);
            }
            throw e;
        }
        handedCount = n[0];
        return switch (end) {
            case "max_tokens", "eos", "context_full", CANCELLED, DETACHED -> end;
            default -> "cloud_" + end; // restored (another edge took the session), closed, error
        };
    }

    /**
     * Moves the cut to {@code to} between two steps: toward the cloud the edge's KV of [to, split) goes
     * up; toward the edge the cloud's KV of [split, to) comes down or the edge recomputes it, as
     * {@link MoveOptions#down()} and the cost model say. A refusal or failure leaves both sides on the
     * old cut (the event carries the reason). Returns true when the cut moved.
     */
    private boolean moveCut(int to, String reason, int[] history, int promptLength) {
        int from = stepper.split();
        long step = stepper.nextStep();
        int p = stepper.position();
        int kvDim = model.config().kvDim();
        dev.splitllm.quantization.kv.KvSpec kind = moves.kv();
        long t0 = System.nanoTime();
        MoveEvent event;
        try {
            if (to < from) {
                int m = link.mirrorRefused() == null ? mirrored : 0; // positions the cloud's mirror holds already
                double overhead = MoveCostModel.transferOverheadMs();
                double predicted = costs.upMs(kind, from, to, p - m, kvDim);
                byte[] kv = m < p ? stepper.kvFrame(to, kind, link.epoch(), m) : null;
                EdgeLink.MoveAnswer a;
                try {
                    a = link.move(from, to, step, p, kind.toString(), null, kv, m);
                } catch (EdgeException e) {
                    if (m == 0 || !"bad_mirror".equals(e.code())) throw e;
                    mirrored = 0; // the cloud's mirror is not what the edge thinks: send every position
                    kv = stepper.kvFrame(to, kind, link.epoch(), 0);
                    a = link.move(from, to, step, p, kind.toString(), null, kv, 0);
                }
                stepper.moveTowardCloud(to);
                if (to == 0) mirrored = 0;
                event = new MoveEvent(from, to, step, p, "up", kv == null ? 0 : kv.length, 0, (System.nanoTime() - t0) / 1e6,
                        a.moved().cloudMs(), predicted, reason, null);
                MoveCostModel.observeTransfer(event.ms(), predicted - overhead);
            } else {
                if (to > model.reach()) {
                    throw new EdgeException("bad_move", "the edge holds blocks [0, " + model.reach() + ") only");
                }
                boolean transfer = switch (moves.down()) {
                    case TRANSFER -> true;
                    case RECOMPUTE -> false;
                    case AUTO -> costs.transferIsCheaper(kind, from, to, p, promptLength, kvDim);
                };
                double overhead = MoveCostModel.transferOverheadMs();
                double predicted = transfer ? costs.downMs(kind, from, to, p, kvDim) : costs.recomputeMs(to, p, promptLength);
                EdgeLink.MoveAnswer a = link.move(from, to, step, p, kind.toString(),
                        transfer ? dev.splitllm.quantization.protocol.MoveRequest.TRANSFER
                                : dev.splitllm.quantization.protocol.MoveRequest.RECOMPUTE, null);
                String how = transfer ? "down" : "recompute";
                if (transfer) {
                    try {
                        dev.splitllm.quantization.kv.KvDelta d = dev.splitllm.quantization.kv.KvDeltaCodec.decode(a.kvDown(),
                                new dev.splitllm.quantization.kv.KvLimits(from, to, options.maxSeqLen(), kvDim,
                                        Integer.MAX_VALUE - 16, link.epoch() - 1));
                        if (d.sessionTag() != link.created().frameSession()) throw new EdgeException("protocol", "KV of another session");
                        stepper.moveTowardEdge(to, d);
                        costs.observeDown(a.kvDown().length, a.ms(), a.moved().cloudMs());
                    } catch (dev.splitllm.quantization.kv.KvFrameException | RuntimeException e) {
                        // The cloud has moved already: rebuild the blocks here rather than leave the two sides apart.
                        stepper.moveTowardEdge(to, history, promptLength);
                        how = "recompute";
                    }
                } else {
                    stepper.moveTowardEdge(to, history, promptLength);
                }
                mirrored = 0; // the cloud dropped its mirror with the layers it gave up
                event = new MoveEvent(from, to, step, p, how, 0, a.kvDown() == null ? 0 : a.kvDown().length,
                        (System.nanoTime() - t0) / 1e6, a.moved().cloudMs(), predicted, reason, null);
                if ("down".equals(how)) MoveCostModel.observeTransfer(event.ms(), predicted - overhead);
            }
        } catch (EdgeException | IllegalArgumentException | IllegalStateException e) {
            event = new MoveEvent(from, to, step, p, to < from ? "up" : "down", 0, 0, (System.nanoTime() - t0) / 1e6, 0,
                    Double.NaN, reason, e.getMessage());
        }
        moveEvents.add(event);
        moveListener.accept(event);
        return event.error() == null;
    }

    /**
     * Asks for the cut to move to {@code split} before the next step (from any thread; the last
     * request wins). Toward the cloud it frees the edge's blocks above the split; toward the edge the
     * model must hold them ({@link EdgeModel#reach()}).
     */
    public void requestMove(int split) {
        if (split < 0) throw new IllegalArgumentException("split must be >= 0, got " + split);
        requestedSplit.set(split);
    }

    /** Calls {@code listener} (on the generating thread) for every move of the cut, made or refused. */
    public void onMove(java.util.function.Consumer<MoveEvent> listener) {
        this.moveListener = listener == null ? e -> { } : listener;
    }

    /** The moves of the cut so far, made or refused, oldest first. */
    public List<MoveEvent> moves() {
        return List.copyOf(moveEvents);
    }

    /** The cut now: the edge runs blocks [0, split). */
    public int split() {
        return stepper.split();
    }

    /** What the session measured for planning moves (round trip, link rate, compute per block). */
    public MoveCostModel costs() {
        return costs;
    }

    /**
     * Hands the rest of the generation to the cloud (from any thread, e.g. the app's {@code onStop}):
     * before its next step the loop ships the KV of the edge's layers (what the mirror has not
     * already put there), the cloud continues alone from cut 0, and its tokens keep arriving through
     * the listener as long as this process lives; if it dies, the cloud goes on, and {@link #restore}
     * in a new process picks the session up. Greedy and seeded streams are exactly those of an
     * undisturbed run.
     */
    public void handOff() {
        handOffRequested = true;
    }

    /** The hand-off, once made (null before). */
    public HandOffEvent handOffEvent() {
        return handOffEvent;
    }

    /** Calls {@code listener} (on the generating thread) when the hand-off is made. */
    public void onHandOff(java.util.function.Consumer<HandOffEvent> listener) {
        this.handOffListener = listener == null ? e -> { } : listener;
    }

    /**
     * Lets go of the session without deleting it on the cloud (the app's process is going away): a
     * running generation returns at once with stop reason {@value #DETACHED}, and {@link #close}
     * leaves the cloud session for a later {@link #restore} (it expires after the server's idle
     * timeout when nobody comes back, or when a handed-off generation has ended and stayed idle).
     */
    public void detach() {
        link.detach();
    }

    /** A restored session's prompt and the tokens generated before this process, as text (empty otherwise). */
    public String restoredText() {
        dev.splitllm.quantization.protocol.SessionRestored r = link.restored();
        if (r == null) return "";
        Tokenizer tok = model.tokenizer();
        StringBuilder sb = new StringBuilder();
        TextStream text = new TextStream(tok, restoredPrompt[0]); // after BOS
        for (int i = 1; i < restoredPrompt.length; i++) sb.append(text.next(restoredPrompt[i]));
        for (int t : r.tokens()) sb.append(text.next(t));
        return sb.append(text.flush()).toString();
    }

    /** Bytes the mirror has sent so far, and the positions it holds on the cloud. */
    public long mirrorBytes() {
        return mirrorBytesSent;
    }

    public int mirroredPositions() {
        return mirrored;
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
