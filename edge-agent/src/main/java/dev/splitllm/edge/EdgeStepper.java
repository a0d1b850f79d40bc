package dev.splitllm.edge;

import dev.splitllm.engine.draft.Drafter;
import dev.splitllm.engine.draft.Proposer;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.Draft;
import dev.splitllm.quantization.wire.FrameHeader;
import dev.splitllm.quantization.wire.Phase;
import dev.splitllm.quantization.wire.SessionCodec;

/**
 * The edge's half of a session without any network, the counterpart of the cloud's step rule:
 * embeds the step's input, runs blocks [0, split) with the edge KV cache, and encodes the hidden
 * state at the cut into the step's frame. Step 0 is the prefill of the whole prompt at position 0;
 * every later step is one decode token at the next position. It also holds the edge's stop rule
 * (EOS, max tokens, context). Not thread-safe: one generation thread drives it.
 */
final class EdgeStepper implements AutoCloseable {
    private final EdgeModel model;
    private final int maxSeqLen;
    private final long frameTag;
    /** Blocks [0, split) with their KV cache; a move of the cut replaces it. */
    private Segment segment;
    private int split;
    /** The session's codec and its outlier-channel state (chosen from the first frame at each cut). */
    private SessionCodec codec;
    private long nextStep;

    /** One encoded step: the frame to send and what producing it cost ({@code draft} null on a plain step). */
    record Step(long step, int tokens, byte[] frame, double edgeMs, double encodeMs, Draft draft, double draftMs) {
        Step(long step, int tokens, byte[] frame, double edgeMs, double encodeMs) {
            this(step, tokens, frame, edgeMs, encodeMs, null, 0);
        }
    }

    /** The DRAFT step awaiting its answer: its start position, rows and draft (to cut the log frame to what was kept). */
    private Step pendingDraft;
    private float[] pendingRows;
    private int pendingStart;

    /**
     * @param frameTag the 64-bit session tag every frame carries (from the server's SessionCreated)
     */
    EdgeStepper(EdgeModel model, CodecSpec codec, int maxSeqLen, long frameTag) {
        if (maxSeqLen < 2) {
            throw new IllegalArgumentException("maxSeqLen must be >= 2, got " + maxSeqLen);
        }
        this.model = model;
        this.maxSeqLen = maxSeqLen;
        this.frameTag = frameTag;
        this.codec = new SessionCodec(codec);
        this.split = model.splitLayer();
        this.segment = model.backend().open(0, split, maxSeqLen);
    }

    /**
     * Sends compact (version-3) frames when {@code on}: only for a server whose session-created
     * answer says it decodes them. Frames rebuilt for a replay stay self-describing. Returns this.
     */
    EdgeStepper compactFrames(boolean on) {
        codec.sendCompactFrames(on);
        return this;
    }

    /** Throws unless {@code promptIds} can be prefilled and still leave room for a generated token. */
    void checkPrompt(int[] promptIds) {
        if (promptIds.length < 1) {
            throw new IllegalArgumentException("the prompt encodes to no tokens");
        }
        if (promptIds.length >= maxSeqLen) {
            throw new IllegalArgumentException("prompt is " + promptIds.length + " tokens; the session holds "
                    + maxSeqLen + " positions");
        }
    }

    /** Step 0: the hidden states of the whole prompt after the edge's blocks, as one PREFILL frame. */
    Step prefill(int[] promptIds) {
        if (nextStep != 0) {
            throw new IllegalStateException("the prefill is step 0; this stepper is at step " + nextStep);
        }
        checkPrompt(promptIds);
        return run(promptIds, Phase.PREFILL);
    }

    /** The next DECODE step: {@code token} (the last one the cloud sampled) at the next position. */
    Step decode(int token) {
        if (nextStep == 0) {
            throw new IllegalStateException("decode steps follow the prefill");
        }
        if (!hasRoom()) {
            throw new IllegalStateException("the context is full (" + maxSeqLen + " positions)");
        }
        return run(new int[] {token}, Phase.DECODE);
    }

    /**
     * A speculative step: {@code token} (the last one the cloud gave) at the next position, then up to
     * {@code k} tokens the {@code drafter} guesses, each run through the edge's blocks one at a time
     * (the one-token kernels: the rows are bit for bit those of plain steps) so the drafter sees the
     * cut row of each token before guessing the next. {@code history[0, length)} is the sequence so
     * far, {@code token} last; it must have room for k more. Returns a DRAFT frame, or a plain DECODE
     * frame when the drafter had no guess at all; {@link #commit} must follow a DRAFT frame's answer.
     */
    Step draft(int token, int k, Drafter drafter, Proposer proposer, int[] history, int length, float[] logits) {
        if (nextStep == 0) throw new IllegalStateException("decode steps follow the prefill");
        if (pendingDraft != null) throw new IllegalStateException("the last DRAFT step was not committed");
        if (k < 1 || k > Draft.MAX_TOKENS) throw new IllegalArgumentException("k must be 1.." + Draft.MAX_TOKENS);
        if (history[length - 1] != token) throw new IllegalArgumentException("the history must end with the token");
        k = Math.min(k, maxSeqLen - segment.position() - 1); // the drafts' rows must fit too
        int d = model.config().dim();
        int start = segment.position();
        float[] rows = new float[(k + 1) * d];
        int[] ids = new int[k];
        int[][] pIds = proposer.sampling() ? new int[k][] : null;
        float[][] pProbs = proposer.sampling() ? new float[k][] : null;
        long t0 = System.nanoTime();
        long drafting = 0;
        int n = 0; // drafts so far
        int len = length;
        int current = token;
        while (true) {
            float[] h = segment.embed(new int[] {current});
            segment.forward(h, 1);
            System.arraycopy(h, 0, rows, n * d, d);
            if (n == k) break;
            long s0 = System.nanoTime();
            boolean guessed = drafter.score(history, len, h, logits);
            int next = guessed ? proposer.propose(logits) : -1;
            drafting += System.nanoTime() - s0;
            if (!guessed) break;
            ids[n] = next;
            if (pIds != null) {
                pIds[n] = proposer.proposalIds();
                pProbs[n] = proposer.proposalProbs();
            }
            history[len++] = next;
            current = next;
            n++;
        }
        long t1 = System.nanoTime();
        if (n == 0) { // no guess: this is a plain step after all
            FrameHeader header = new FrameHeader(frameTag, nextStep, Phase.DECODE, split, start, 1, d, codec.spec());
            byte[] frame = codec.encodeFrame(header, rows);
            long t2 = System.nanoTime();
            return new Step(nextStep++, 1, frame, (t1 - t0) / 1e6, (t2 - t1) / 1e6, null, drafting / 1e6);
        }
        int[] drafted = java.util.Arrays.copyOf(ids, n);
        Draft draft = pIds == null ? Draft.greedy(drafted)
                : Draft.sampled(drafted, java.util.Arrays.copyOf(pIds, n), java.util.Arrays.copyOf(pProbs, n));
        FrameHeader header = new FrameHeader(frameTag, nextStep, Phase.DRAFT, split, start, n + 1, d, codec.spec());
        byte[] frame = codec.encodeDraftFrame(header, rows, draft);
        long t2 = System.nanoTime();
        Step step = new Step(nextStep++, n + 1, frame, (t1 - t0) / 1e6, (t2 - t1) / 1e6, draft, drafting / 1e6);
        pendingDraft = step;
        pendingRows = rows;
        pendingStart = start;
        return step;
    }

    /**
     * The cloud kept {@code accepted} of the pending DRAFT step's drafts: the edge's KV keeps the same
     * positions (the first accepted + 1 rows), and the returned frame, what the cloud kept of the step
     * (a DECODE frame of its first row, or a DRAFT frame of its accepted rows), replaces the sent
     * frame in the replay log.
     */
    byte[] commit(int accepted) {
        Step step = pendingDraft;
        if (step == null) throw new IllegalStateException("no DRAFT step is waiting");
        if (accepted < 0 || accepted > step.draft().size()) {
            throw new EdgeException("protocol", "the cloud accepted " + accepted + " of " + step.draft().size() + " drafted tokens");
        }
        pendingDraft = null;
        segment.truncate(pendingStart + accepted + 1);
        int d = model.config().dim();
        if (accepted == step.draft().size()) return step.frame();
        if (accepted == 0) {
            return codec.encodeFrame(new FrameHeader(frameTag, step.step(), Phase.DECODE, split, pendingStart, 1, d,
                    codec.spec()), pendingRows);
        }
        return codec.encodeDraftFrame(new FrameHeader(frameTag, step.step(), Phase.DRAFT, split, pendingStart,
                accepted + 1, d, codec.spec()), pendingRows, step.draft().prefix(accepted));
    }

    private Step run(int[] input, Phase phase) {
        long t0 = System.nanoTime();
        float[] hidden = segment.embed(input);
        int start = segment.position();
        segment.forward(hidden, input.length);
        long t1 = System.nanoTime();
        FrameHeader header = new FrameHeader(frameTag, nextStep, phase, split, start, input.length,
                model.config().dim(), codec.spec());
        byte[] frame = codec.encodeFrame(header, hidden);
        long t2 = System.nanoTime();
        return new Step(nextStep++, input.length, frame, (t1 - t0) / 1e6, (t2 - t1) / 1e6);
    }

    /** The cut now: the edge runs blocks [0, split). */
    int split() {
        return split;
    }

    /**
     * The KV of layers [to, split) for every position so far, as an SPKV frame of {@code kind}: what
     * a move toward the cloud (or a hand-off, to = 0) sends up. Changes nothing.
     */
    byte[] kvFrame(int to, dev.splitllm.quantization.kv.KvSpec kind, long epoch) {
        return kvFrame(to, kind, epoch, 0);
    }

    /**
     * As above for positions [start, position) only: what goes up when a mirror already holds the
     * first {@code start} positions on the cloud, and what a mirror frame itself is (to = 0).
     */
    byte[] kvFrame(int to, dev.splitllm.quantization.kv.KvSpec kind, long epoch, int start) {
        checkMovable(to, true);
        int p = segment.position(), kvDim = model.config().kvDim();
        if (start < 0 || start >= p) throw new IllegalArgumentException("positions [" + start + ", " + p + ") are empty");
        float[][][] kv = segment.exportKv(to, split, p);
        if (start > 0) {
            for (int i = 0; i < 2; i++) {
                for (int l = 0; l < kv[i].length; l++) {
                    kv[i][l] = java.util.Arrays.copyOfRange(kv[i][l], start * kvDim, p * kvDim);
                }
            }
        }
        return dev.splitllm.quantization.kv.KvDeltaCodec.encode(kind, frameTag, epoch, to, start, p - start, kvDim, kv[0], kv[1]);
    }

    /**
     * Puts a fresh stepper where a restored session stands: the cut at {@code at} (blocks [0, at)
     * rebuilt from the tokens, as {@link #rebuild} does; none at cut 0), {@code positions} positions,
     * and {@code nextStep} as the next frame's step. With {@code base} (the cloud's mirror: the KV
     * of blocks [0, at) for positions [0, m), m at least the prompt's length; or null) only positions
     * [m, positions) are recomputed, one token at a time as they first ran.
     */
    void restoreAt(int at, int[] tokens, int promptLength, int positions, long nextStep, dev.splitllm.quantization.kv.KvDelta base) {
        if (this.nextStep != 0) throw new IllegalStateException("restore needs a fresh stepper");
        if (at > model.reach()) {
            throw new IllegalArgumentException("the session's cut is " + at + "; this edge model holds blocks [0, " + model.reach() + ")");
        }
        if (base != null) {
            int m = base.positions();
            if (at == 0 || base.firstLayer() != 0 || base.endLayer() != at || base.start() != 0 || m < promptLength || m > positions) {
                throw new IllegalArgumentException("a mirror of layers [" + base.firstLayer() + ", " + base.endLayer() + ") for "
                        + m + " positions cannot seed cut " + at + " at " + positions + " positions");
            }
            Segment next = model.backend().open(0, at, maxSeqLen);
            try {
                next.loadKv(0, base.keys(), base.values(), m);
                for (int t = m; t < positions; t++) {
                    float[] row = next.embed(new int[] {tokens[t]});
                    next.forward(row, 1);
                }
            } catch (RuntimeException | Error e) {
                next.close();
                throw e;
            }
            swap(next, at);
        } else if (at > 0) {
            rebuild(at, tokens, promptLength, positions);
        } else {
            Segment next = model.backend().open(0, 0, maxSeqLen);
            next.loadKv(0, new float[0][], new float[0][], positions);
            swap(next, 0);
        }
        this.nextStep = nextStep;
    }

    /** The cloud took layers [to, split): the edge keeps [0, to) and frees the rest. */
    void moveTowardCloud(int to) {
        checkMovable(to, true);
        int p = segment.position();
        Segment next = model.backend().open(0, to, maxSeqLen);
        try {
            if (to > 0) {
                float[][][] kept = segment.exportKv(0, to, p);
                next.loadKv(0, kept[0], kept[1], p);
            } else {
                next.loadKv(0, new float[0][], new float[0][], p);
            }
        } catch (RuntimeException | Error e) {
            next.close();
            throw e;
        }
        swap(next, to);
    }

    /**
     * The edge took layers [split, to) with their KV from the cloud ({@code down}, decoded from the
     * answer's SPKV frame).
     */
    void moveTowardEdge(int to, dev.splitllm.quantization.kv.KvDelta down) {
        checkMovable(to, false);
        int p = segment.position();
        if (down.firstLayer() != split || down.endLayer() != to || down.start() != 0 || down.positions() != p) {
            throw new EdgeException("protocol", "the cloud sent KV of layers [" + down.firstLayer() + ", " + down.endLayer()
                    + ") positions [" + down.start() + ", " + (down.start() + down.positions()) + "); the move needs [" + split
                    + ", " + to + ") for [0, " + p + ")");
        }
        Segment next = model.backend().open(0, to, maxSeqLen);
        try {
            if (split > 0) {
                float[][][] kept = segment.exportKv(0, split, p);
                next.loadKv(0, kept[0], kept[1], p);
            }
            next.loadKv(split, down.keys(), down.values(), p);
        } catch (RuntimeException | Error e) {
            next.close();
            throw e;
        }
        swap(next, to);
    }

    /**
     * The edge took layers [split, to) and rebuilds their KV itself from the token history
     * {@code tokens[0, position)}: the first {@code promptLength} as one prefill, every later one as
     * a one-token step, exactly as they first ran, so the rebuilt cache holds the same bits. Also
     * how a restored session rebuilds its whole cache (from split 0).
     */
    void moveTowardEdge(int to, int[] tokens, int promptLength) {
        checkMovable(to, false);
        rebuild(to, tokens, promptLength, segment.position());
    }

    /** Rebuilds blocks [0, to) for positions [0, positions) from the tokens (see above) and makes them the edge's. */
    void rebuild(int to, int[] tokens, int promptLength, int positions) {
        if (promptLength < 1 || promptLength > positions || tokens.length < positions) {
            throw new IllegalArgumentException("need " + positions + " tokens with a prompt of 1.." + positions
                    + ", got " + tokens.length + " and " + promptLength);
        }
        Segment next = model.backend().open(0, to, maxSeqLen);
        try {
            float[] h = next.embed(java.util.Arrays.copyOf(tokens, promptLength));
            next.forward(h, promptLength);
            for (int t = promptLength; t < positions; t++) {
                float[] row = next.embed(new int[] {tokens[t]});
                next.forward(row, 1);
            }
        } catch (RuntimeException | Error e) {
            next.close();
            throw e;
        }
        swap(next, to);
    }

    /**
     * The frames of steps [0, steps) as this session would have sent them at cut {@code at}: the
     * prompt (tokens[0, promptLength)) as the PREFILL frame, then one DECODE frame per later
     * position, each row run through a fresh segment exactly as it first ran, encoded by a fresh
     * codec state in step order (the chain a replica decodes). What a replay after a move of the
     * cut sends for the steps taken before the move. Changes nothing in this stepper.
     */
    java.util.List<byte[]> cutFrames(int at, int[] tokens, int promptLength, long steps) {
        if (at < 0 || at > model.reach()) throw new IllegalArgumentException("cut " + at + " is outside [0, " + model.reach() + "]");
        int positions = (int) (promptLength + steps - 1);
        if (steps < 1 || promptLength < 1 || tokens.length < positions) {
            throw new IllegalArgumentException("need " + positions + " tokens for " + steps + " steps, got " + tokens.length);
        }
        int d = model.config().dim();
        SessionCodec chain = new SessionCodec(codec.spec(), codec.tables());
        java.util.List<byte[]> frames = new java.util.ArrayList<>((int) steps);
        try (Segment seg = model.backend().open(0, at, maxSeqLen)) {
            float[] h = seg.embed(java.util.Arrays.copyOf(tokens, promptLength));
            seg.forward(h, promptLength);
            frames.add(chain.encodeFrame(new FrameHeader(frameTag, 0, Phase.PREFILL, at, 0, promptLength, d, codec.spec()), h));
            for (int t = promptLength; t < positions; t++) {
                float[] row = seg.embed(new int[] {tokens[t]});
                seg.forward(row, 1);
                long step = t - promptLength + 1;
                frames.add(chain.encodeFrame(new FrameHeader(frameTag, step, Phase.DECODE, at, t, 1, d, codec.spec()), row));
            }
        }
        return frames;
    }

    private void checkMovable(int to, boolean towardCloud) {
        if (pendingDraft != null) throw new IllegalStateException("a DRAFT step is waiting for its answer");
        if (nextStep == 0) throw new IllegalStateException("the cut moves after the prefill");
        if (towardCloud ? !(to >= 0 && to < split) : !(to > split && to <= model.reach())) {
            throw new IllegalArgumentException("cannot move the cut from " + split + " to " + to + (towardCloud ? ""
                    : ": the edge holds blocks [0, " + model.reach() + ")"));
        }
    }

    private void swap(Segment next, int to) {
        segment.close();
        segment = next;
        split = to;
        // The new cut's rows choose their own outlier channels; the frame version stays.
        codec = new SessionCodec(codec.spec(), codec.tables()).sendCompactFrames(codec.sendsCompactFrames());
    }

    /** True while one more decode position fits in the context. */
    boolean hasRoom() {
        return segment.position() + 1 <= maxSeqLen;
    }

    /**
     * The edge's stop rule after {@code token} arrived as the {@code generated}-th token: "eos"
     * (the model's end of sequence: EOS, or a generated BOS, which is how llama2.c models end a
     * story, as run.c stops; not when {@code ignoreEndOfSequence}), "max_tokens", "context_full",
     * or null to go on.
     */
    String stopReason(int token, int generated, int maxTokens, boolean ignoreEndOfSequence) {
        if (!ignoreEndOfSequence && (token == model.tokenizer().eos() || token == model.tokenizer().bos())) {
            return "eos";
        }
        if (generated >= maxTokens) {
            return "max_tokens";
        }
        if (!hasRoom()) {
            return "context_full";
        }
        return null;
    }

    /** The step the next frame will carry. */
    long nextStep() {
        return nextStep;
    }

    int position() {
        return segment.position();
    }

    /** The session's codec state (its outlier channels, once the prefill chose them). */
    SessionCodec codec() {
        return codec;
    }

    /** Bytes of the edge KV cache: blocks [0, split) for maxSeqLen positions, allocated up front (the current cut). */
    long kvBytes() {
        return MemoryAccount.kvCacheBytes(model.config(), split, maxSeqLen);
    }

    @Override
    public void close() {
        segment.close();
    }
}
