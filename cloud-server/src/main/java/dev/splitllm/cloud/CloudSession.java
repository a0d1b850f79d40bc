package dev.splitllm.cloud;

import dev.splitllm.engine.draft.DraftVerifier;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.OutlierChannels;
import dev.splitllm.quantization.protocol.ErrorMessage;
import dev.splitllm.quantization.protocol.TokenMessage;
import dev.splitllm.quantization.wire.Draft;
import dev.splitllm.quantization.wire.Frame;
import dev.splitllm.quantization.wire.FrameException;
import dev.splitllm.quantization.wire.FrameHeader;
import dev.splitllm.quantization.wire.FrameLimits;
import dev.splitllm.quantization.wire.Phase;
import dev.splitllm.quantization.wire.SessionCodec;
import java.security.MessageDigest;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One edge session on the cloud: the back segment [splitLayer, L) with its KV cache, the
 * sampler, and the step bookkeeping that makes frames idempotent.
 *
 * <p>Step rule: frames carry steps 0, 1, 2, ... Step 0 is the prefill (the prompt's hidden
 * states, at position 0); every later step is one decode token at the next position. A frame
 * whose step equals the last answered step is a resend (after a reconnect): it gets the same
 * answer again and changes nothing. Any other out-of-order step is refused without touching
 * state, so a bad frame never corrupts the session.
 *
 * <p>A DRAFT frame (speculation, docs/PROTOCOL.md) is one step too: its k + 1 rows go through the
 * back blocks in one batched pass with the one-token kernels, {@link DraftVerifier} keeps the
 * longest acceptable prefix of the k drafts and picks the next token, and the KV of the rejected
 * rows is truncated away: the session advances by accepted + 1 positions.
 */
final class CloudSession {
    /** Error code for a socket of an edge whose session another edge restored. */
    static final String RESTORED_ELSEWHERE = "restored_elsewhere";
    /** Most drafted tokens one DRAFT frame may carry (announced as SessionCreated.maxDraft). */
    static final int MAX_DRAFT = 8;
    final String id;
    final long frameTag;
    /** The cut: the session holds blocks [splitLayer, L); a move changes it (under the lock). */
    volatile int splitLayer;
    final CodecSpec codec;
    final String cloudWeights;
    final int maxSeqLen;
    /** KV bytes the registry reserved for this session: exactly what it releases when the session goes. */
    volatile long reservedKvBytes;
    /**
     * 0 when created; a replay to this replica makes it the replaying edge's epoch + 1, and every
     * move of the cut adds one. Frames and KV of an earlier epoch are refused.
     */
    volatile long epoch;
    /** The first step of the current epoch's cut: a frame of an earlier step predates the last move. */
    private long epochFirstStep;
    /** The resume ticket a replay of this session must present (see {@link ResumeTickets}); a move issues one for the new cut. */
    volatile String resumeTicket;
    /** Issues the resume ticket of this session at a given cut (set by the registry; null: no tickets). */
    java.util.function.IntFunction<String> ticketIssuer;
    private final byte[] ownerDigest;
    private Segment segment;
    private final Sampler sampler;
    /**
     * Fair: the cloud's own generation (after a hand-off) takes the lock once per token, and an unfair
     * lock would let it take it back at once every time, locking restore, delete, status and drain
     * out until the generation ends.
     */
    private final ReentrantLock lock = new ReentrantLock(true);
    /** Restores so far: a socket opened before the last one may not drive the session (see {@link #handle}). */
    private volatile long restores;
    /**
     * The session's codec with its state (the outlier channels the edge announced); used only
     * under the lock, and a frame's channels are adopted only once its step is committed.
     */
    private SessionCodec wire;
    private long nextStep;
    private long lastAnsweredStep = -1;
    private TokenMessage lastAnswer;
    private volatile long lastActiveNanos = System.nanoTime();
    private volatile boolean closed;
    /** Every token the session generated, in order (at most maxSeqLen + 1): what a restore hands back. */
    private final int[] generated;
    private int generatedCount;
    /** False once a replay rebuilt the session from frames: the tokens before it are not known here. */
    private boolean tokensKnown = true;
    /** The prompt's ids, when a hand-off left them (so a restore needs only the session id). */
    private int[] prompt;
    /** The edge's KV mirrored up its socket (layers [0, splitLayer)), or null. */
    private MirrorKv mirror;
    /** KV bytes reserved for the mirror (part of {@link #reservedKvBytes}). */
    private long mirrorReservedBytes;
    /** Generation on the cloud alone (after a hand-off): running, tokens it may still make, and why it stopped. */
    private boolean cloudRunning;
    private int cloudRemaining;
    private boolean cloudIgnoreEos;
    private String cloudStop;
    private int eosId = -1, bosId = -1;
    /** Token streams ({@code GET .../tokens}, a hand-off's answer) open on this session now. */
    final java.util.concurrent.atomic.AtomicInteger tokenStreams = new java.util.concurrent.atomic.AtomicInteger();
    /** Signalled whenever a token is recorded or the cloud's generation ends (token streams wait on it). */
    private final java.util.concurrent.locks.Condition tokensChanged = lock.newCondition();

    CloudSession(String id, long frameTag, byte[] ownerDigest, int splitLayer, CodecSpec codec, String cloudWeights,
                 int maxSeqLen, long reservedKvBytes, Segment segment, Sampler sampler) {
        this(id, frameTag, ownerDigest, splitLayer, codec, cloudWeights, maxSeqLen, reservedKvBytes, segment, sampler, 0, null);
    }

    CloudSession(String id, long frameTag, byte[] ownerDigest, int splitLayer, CodecSpec codec, String cloudWeights,
                 int maxSeqLen, long reservedKvBytes, Segment segment, Sampler sampler, long epoch, String resumeTicket) {
        this.id = id;
        this.epoch = epoch;
        this.resumeTicket = resumeTicket;
        this.frameTag = frameTag;
        this.ownerDigest = ownerDigest;
        this.splitLayer = splitLayer;
        this.codec = codec;
        this.cloudWeights = cloudWeights;
        this.maxSeqLen = maxSeqLen;
        this.segment = segment;
        this.sampler = sampler;
        this.reservedKvBytes = reservedKvBytes;
        this.wire = new SessionCodec(codec).receiveCompactFrames(frameTag, segment.config().dim());
        this.generated = new int[maxSeqLen + 1];
    }

    byte[] ownerDigest() {
        return ownerDigest;
    }

    boolean ownedBy(byte[] tokenDigest) {
        return MessageDigest.isEqual(ownerDigest, tokenDigest);
    }

    void touch() {
        lastActiveNanos = System.nanoTime();
    }

    long idleNanos() {
        return System.nanoTime() - lastActiveNanos;
    }

    boolean closed() {
        return closed;
    }

    void close() {
        lock.lock();
        try {
            closed = true;
            endCloudGeneration("closed");
            segment.close();
        } finally {
            lock.unlock();
        }
    }

    /** Closes the session if it is still idle longer than {@code limitNanos}, checked under its lock. */
    boolean closeIfIdle(long limitNanos) {
        lock.lock();
        try {
            if (closed || idleNanos() <= limitNanos) {
                return false;
            }
            closed = true;
            endCloudGeneration("closed");
            segment.close();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Outcome of one frame: exactly one of answer / error is set; {@code draftSize} is k of a DRAFT frame. */
    record Outcome(TokenMessage answer, ErrorMessage error, boolean replayed, Phase phase, int draftSize) {
        Outcome(TokenMessage answer, ErrorMessage error, boolean replayed, Phase phase) {
            this(answer, error, replayed, phase, 0);
        }

        static Outcome error(String code, String message, long step, boolean fatal) {
            return new Outcome(null, new ErrorMessage(code, message, step, fatal), false, null);
        }
    }

    /** Decodes and validates a frame against this session and, if it is the next step, runs it. */
    Outcome handle(byte[] bytes, FrameLimits limits) {
        return handle(bytes, limits, null);
    }

    /**
     * As {@link #handle(byte[], FrameLimits)}; with a scheduler the forward runs in its batched
     * ticks (when the segment can join them), everything else (checks, sampling, commit, rollback)
     * stays here, under the session's lock.
     */
    Outcome handle(byte[] bytes, FrameLimits limits, StepScheduler scheduler) {
        return handle(bytes, limits, scheduler, -1);
    }

    /**
     * As above for a frame from a socket opened when the session had seen {@code socketRestores}
     * restores (-1: not checked): after a restore, the old edge's socket may not take a step, even
     * one already on its way when the restore was made.
     */
    Outcome handle(byte[] bytes, FrameLimits limits, StepScheduler scheduler, long socketRestores) {
        lock.lock();
        try {
            if (closed) {
                return Outcome.error("closed", "session " + id + " is closed", -1, true);
            }
            if (socketRestores >= 0 && socketRestores != restores) {
                return Outcome.error(RESTORED_ELSEWHERE, "session " + id + " was restored by another edge; this socket's edge must stop",
                        -1, true);
            }
            if (cloudRunning) {
                return Outcome.error("handed_off", "session " + id + " was handed off to the cloud and generates there alone "
                        + "(token " + generatedCount + " so far); restore it to send frames again", -1, false);
            }
            Frame frame;
            try {
                frame = wire.decodeFrame(bytes, limits);
            } catch (FrameException e) {
                return Outcome.error("bad_frame", e.getMessage(), -1, false);
            }
            FrameHeader h = frame.header();
            if (h.sessionId() != frameTag) {
                return Outcome.error("bad_frame", "frame belongs to another session", h.step(), false);
            }
            if (h.step() < epochFirstStep || (epochFirstStep > 0 && h.splitLayer() != splitLayer)) {
                return Outcome.error("stale_epoch", "frame of step " + h.step() + " at split " + h.splitLayer()
                        + " belongs to an earlier epoch: the session moved to split " + splitLayer + " at step "
                        + epochFirstStep + " (epoch " + epoch + ")", h.step(), false);
            }
            if (h.step() == lastAnsweredStep && lastAnswer != null) {
                return new Outcome(lastAnswer, null, true, h.phase());
            }
            if (h.step() != nextStep) {
                return Outcome.error("bad_step", "expected step " + nextStep + ", got " + h.step()
                        + (h.step() < nextStep ? " (already processed)" : " (steps must not skip)"), h.step(), false);
            }
            String mismatch = mismatch(h, segment.position());
            if (mismatch != null) {
                return Outcome.error("bad_frame", mismatch, h.step(), false);
            }
            if (segment.position() + h.tokens() > maxSeqLen) {
                return Outcome.error("context_full", "position " + segment.position() + " + " + h.tokens()
                        + " tokens exceeds the session's max sequence length " + maxSeqLen, h.step(), false);
            }
            Draft draft = frame.draft();
            if (draft != null) {
                String bad = draftProblem(draft, true);
                if (bad != null) return Outcome.error("bad_draft", bad, h.step(), false);
            }
            long t0 = System.nanoTime();
            float[] hidden = frame.hidden();
            int start = segment.position();
            long samplerState = sampler.state();
            int token;
            int accepted = 0;
            try {
                if (draft == null) {
                    token = step(scheduler, hidden, h.tokens());
                } else {
                    DraftVerifier.Result r = verify(scheduler, hidden, h.tokens(), draft);
                    token = r.next;
                    accepted = r.accepted;
                    segment.truncate(start + accepted + 1); // the rejected rows' KV goes
                }
            } catch (RuntimeException | Error e) {
                // Roll back so the same step can be sent again: nothing of it stays in the state
                // (the frame's channel set was never accepted).
                segment.truncate(Math.min(start, segment.position()));
                sampler.restoreState(samplerState);
                throw e;
            }
            wire.accept(frame); // committed: from now on the session decodes with the set it carried
            for (int i = 0; i < accepted; i++) record(draft.token(i));
            record(token);
            lastMove = null;
            lastAnswer = new TokenMessage(h.step(), token, (System.nanoTime() - t0) / 1e6, accepted);
            lastAnsweredStep = h.step();
            nextStep = h.step() + 1;
            touch(); // only a computed step moves the idle clock: junk or replays cannot keep a session alive
            return new Outcome(lastAnswer, null, false, h.phase(), draft == null ? 0 : draft.size());
        } finally {
            lock.unlock();
        }
    }

    /** Runs the back blocks over T rows and samples the last row, batched when a scheduler takes the segment. */
    private int step(StepScheduler scheduler, float[] hidden, int tokens) {
        if (scheduler != null && StepScheduler.accepts(segment)) {
            return scheduler.step(segment, hidden, tokens, sampler);
        }
        segment.forward(hidden, tokens);
        return sampler.sample(segment.lastLogits(hidden, tokens));
    }

    /** Runs rows through the back blocks for their KV only (no logits, no sampling). */
    private void forwardOnly(StepScheduler scheduler, float[] hidden, int tokens) {
        if (scheduler != null && StepScheduler.accepts(segment)) {
            scheduler.forwardOnly(segment, hidden, tokens);
        } else {
            segment.forward(hidden, tokens);
        }
    }

    /**
     * Runs a DRAFT frame's rows through the back blocks (each row with the one-token kernels, batched
     * in a tick when a scheduler takes the segment) and verifies the draft against their logits.
     */
    private DraftVerifier.Result verify(StepScheduler scheduler, float[] hidden, int tokens, Draft draft) {
        int vocab = segment.config().vocabSize(), d = segment.config().dim();
        float[] logits;
        if (scheduler != null && StepScheduler.accepts(segment) && tokens <= scheduler.tokenBudget()) {
            logits = scheduler.rowLogits(segment, hidden, tokens);
        } else {
            segment.forwardAsSteps(hidden, tokens);
            logits = new float[tokens * vocab];
            float[] row = new float[d];
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(hidden, t * d, row, 0, d);
                System.arraycopy(segment.lastLogits(row, 1), 0, logits, t * vocab, vocab);
            }
        }
        if (verifier == null) verifier = new DraftVerifier(vocab);
        return verifier.verify(logits, draft, sampler);
    }

    private DraftVerifier verifier;

    /**
     * Why {@code draft} cannot be verified in this session, or null: more drafts than
     * {@link #MAX_DRAFT}, a token outside the vocabulary, or proposals missing in a sampling session
     * (or present in a greedy one, when {@code checkProposals}).
     */
    private String draftProblem(Draft draft, boolean checkProposals) {
        if (draft.size() > MAX_DRAFT) {
            return "k=" + draft.size() + " drafted tokens exceed the session's limit of " + MAX_DRAFT;
        }
        int vocab = segment.config().vocabSize();
        if (draft.maxTokenId() >= vocab) {
            return "drafted token id " + draft.maxTokenId() + " is outside the vocabulary of " + vocab;
        }
        if (checkProposals && draft.sampled() != (sampler.temperature() > 0f)) {
            return sampler.temperature() > 0f
                    ? "a sampling session's drafts must carry the drafter's proposals"
                    : "a greedy session's drafts carry no proposals";
        }
        return null;
    }

    /** Why {@code h} cannot be the next step at {@code position}, or null. */
    private String mismatch(FrameHeader h, int position) {
        if (h.splitLayer() != splitLayer) return "frame split layer " + h.splitLayer() + " != session's " + splitLayer;
        if (h.dim() != segment.config().dim()) return "frame width d=" + h.dim() + " != model's " + segment.config().dim();
        if (!h.codec().equals(codec)) return "frame codec " + h.codec() + " != session's " + codec;
        if (h.startPosition() != position) {
            return "frame starts at position " + h.startPosition() + " but the session is at " + position;
        }
        if (h.step() == 0 && h.phase() != Phase.PREFILL) return "step 0 must be a PREFILL frame";
        if (h.step() > 0 && h.phase() == Phase.PREFILL) return "steps after 0 must be DECODE or DRAFT frames";
        if (h.phase() == Phase.DECODE && h.tokens() != 1) return "a DECODE frame carries one token";
        return null;
    }

    /** A move that cannot be made: the session keeps its cut, epoch and KV. */
    static final class MoveRefused extends RuntimeException {
        final String code;

        MoveRefused(String code, String message) {
            super(message);
            this.code = code;
        }
    }

    /** A move made: the new epoch's answer, and the KV frame to send down (null when none). */
    record Moved(dev.splitllm.quantization.protocol.SessionMoved answer, byte[] kvDown) {
    }

    /**
     * Moves the cut between two steps (docs/PROTOCOL.md, "Moving the cut"). Toward the cloud the
     * edge's KV of [to, from) comes in {@code kvUp} (an SPKV frame, checked against the layers, the
     * positions, the head shape, the epoch and its CRC); toward the edge the cloud drops [from, to)
     * and, when asked, encodes their KV to send down. The new segment is built on the side and
     * swapped in only when complete: any refusal or failure leaves the session on its old cut.
     *
     * @param backend the backend of the session's weights (opens the new segment)
     * @param reserve called with more KV bytes to reserve before anything is built (may refuse), with
     *                the negative amount to release once a move toward the edge is made, or to undo a
     *                reservation when the move fails
     */
    Moved move(dev.splitllm.quantization.protocol.MoveRequest req, byte[] kvUp, dev.splitllm.engine.forward.Backend backend,
               int maxKvFrameBytes, java.util.function.LongConsumer reserve) {
        lock.lock();
        try {
            if (closed) throw new MoveRefused("closed", "session " + id + " is closed");
            if (cloudRunning) throw new MoveRefused("handed_off", "session " + id + " generates on the cloud alone; restore it first");
            if (lastMove != null && lastMove.request.equals(req)) {
                return lastMove.moved; // the answer was lost and the edge asks again: the same answer
            }
            int layers = segment.config().nLayers();
            int from = req.fromSplit(), to = req.toSplit(), p = segment.position();
            if (req.epoch() != epoch) {
                throw new MoveRefused("stale_epoch", "the move names epoch " + req.epoch() + "; the session is at epoch " + epoch);
            }
            if (from != splitLayer) throw new MoveRefused("bad_move", "the move starts at split " + from + "; the session's cut is " + splitLayer);
            if (to < 0 || to >= layers) {
                throw new MoveRefused("bad_move", "split " + to + " is outside the model: a cut must leave at least one of its "
                        + layers + " blocks on the cloud (0.." + (layers - 1) + ")");
            }
            if (to == from) throw new MoveRefused("bad_move", "the session is already at split " + to);
            if (req.step() != nextStep) {
                throw new MoveRefused("bad_step", "the move names step " + req.step() + "; the session's next step is " + nextStep
                        + " (a move goes between two answered steps)");
            }
            if (req.positions() != p || p < 1) {
                throw new MoveRefused("bad_move", "the move names " + req.positions() + " positions; the session holds " + p);
            }
            dev.splitllm.quantization.kv.KvSpec kind;
            try {
                kind = dev.splitllm.quantization.kv.KvSpec.parse(req.kv() == null ? "fp32" : req.kv());
            } catch (IllegalArgumentException e) {
                throw new MoveRefused("bad_move", e.getMessage());
            }
            boolean up = to < from;
            boolean transfer = !up && dev.splitllm.quantization.protocol.MoveRequest.TRANSFER.equals(req.down());
            if (!up && !transfer && !dev.splitllm.quantization.protocol.MoveRequest.RECOMPUTE.equals(req.down())) {
                throw new MoveRefused("bad_move", "a move toward the edge says down=transfer or down=recompute, got " + req.down());
            }
            // Toward the cloud, positions the mirror holds need not come up again.
            int mirrored = up ? req.mirroredPositions() : 0;
            if (mirrored != 0 && (mirror == null || mirror.positions() != mirrored)) {
                throw new MoveRefused("bad_mirror", "the move counts on " + mirrored + " mirrored positions; the mirror here holds "
                        + (mirror == null ? 0 : mirror.positions()) + " (send the KV of every position)");
            }
            if (mirrored < 0 || mirrored > p || (!up && req.mirroredPositions() != 0)) {
                throw new MoveRefused("bad_move", "mirrored positions " + req.mirroredPositions() + " are not in [0, " + p + "] or the move is toward the edge");
            }
            boolean needKv = up && mirrored < p;
            if (needKv == (kvUp == null)) {
                throw new MoveRefused("bad_move", needKv ? "a move toward the cloud carries the KV of layers [" + to + ", " + from
                        + ") for positions [" + mirrored + ", " + p + ")" : "this move carries no KV up");
            }
            long t0 = System.nanoTime();
            int kvDim = segment.config().kvDim();
            dev.splitllm.quantization.kv.KvDelta delta = null;
            if (needKv) {
                try {
                    delta = dev.splitllm.quantization.kv.KvDeltaCodec.decode(kvUp,
                            new dev.splitllm.quantization.kv.KvLimits(to, from, maxSeqLen, kvDim, maxKvFrameBytes, epoch));
                } catch (dev.splitllm.quantization.kv.KvFrameException e) {
                    throw new MoveRefused("bad_kv", "KV frame refused: " + e.getMessage());
                }
                if (delta.sessionTag() != frameTag) throw new MoveRefused("bad_kv", "KV frame belongs to another session");
                if (delta.start() != mirrored || delta.start() + delta.positions() != p) {
                    throw new MoveRefused("bad_kv", "KV frame holds positions [" + delta.start() + ", " + (delta.start()
                            + delta.positions()) + "); the move needs [" + mirrored + ", " + p + ")");
                }
            } else if (transfer && dev.splitllm.quantization.kv.KvDeltaCodec.frameBytes(kind, to - from, p, kvDim) > maxKvFrameBytes) {
                throw new MoveRefused("too_large", "the KV of layers [" + from + ", " + to + ") at " + p + " positions exceeds "
                        + maxKvFrameBytes + " bytes; recompute it on the edge or use a kivi kind");
            }
            long newKv = dev.splitllm.engine.model.MemoryAccount.kvCacheBytes(segment.config(), layers - to, maxSeqLen);
            // The mirror keeps the layers the edge still holds after a move toward the cloud; toward the edge it goes.
            long mirrorAfter = up && mirror != null && to > 0
                    ? dev.splitllm.engine.model.MemoryAccount.kvCacheBytes(segment.config(), to, maxSeqLen) : 0;
            newKv += mirrorAfter;
            long more = newKv - reservedKvBytes;
            if (more > 0) reserve.accept(more); // may refuse (KV budget): nothing changed yet
            Segment next = null;
            byte[] down = null;
            try {
                next = backend.open(to, layers, maxSeqLen);
                if (up) {
                    if (mirrored > 0) {
                        float[][][] rows = mirror.rows(to, from, p, delta);
                        next.loadKv(to, rows[0], rows[1], p);
                    } else {
                        next.loadKv(to, delta.keys(), delta.values(), p);
                    }
                    float[][][] kept = segment.exportKv(from, layers, p);
                    next.loadKv(from, kept[0], kept[1], p);
                } else {
                    float[][][] kept = segment.exportKv(to, layers, p);
                    next.loadKv(to, kept[0], kept[1], p);
                    if (transfer) {
                        float[][][] gone = segment.exportKv(from, to, p);
                        down = dev.splitllm.quantization.kv.KvDeltaCodec.encode(kind, frameTag, epoch, from, 0, p, kvDim, gone[0], gone[1]);
                    }
                }
            } catch (RuntimeException | Error e) {
                if (next != null) next.close();
                if (more > 0) reserve.accept(-more); // give the reservation back: the old cut stays
                if (e instanceof UnsupportedOperationException) throw new MoveRefused("bad_move", e.getMessage());
                throw e;
            }
            segment.close();
            segment = next;
            if (more < 0) reserve.accept(more); // the dropped layers' KV is free now
            reservedKvBytes = newKv;
            if (mirrorAfter > 0) {
                mirror.keepLayers(to);
            } else {
                mirror = null;
            }
            mirrorReservedBytes = mirrorAfter;
            splitLayer = to;
            epoch++;
            epochFirstStep = nextStep;
            wire = new SessionCodec(codec, wire.tables()).receiveCompactFrames(frameTag, segment.config().dim()); // the new cut's rows choose their own outlier channels
            touch();
            double ms = (System.nanoTime() - t0) / 1e6;
            if (ticketIssuer != null) resumeTicket = ticketIssuer.apply(to); // a replay after the move names the new cut
            lastMove = new LastMove(req, new Moved(new dev.splitllm.quantization.protocol.SessionMoved(id, epoch, to, p,
                    down == null ? 0 : down.length, ms, ticketIssuer == null ? null : resumeTicket), down));
            return lastMove.moved;
        } finally {
            lock.unlock();
        }
    }

    /** The last move and its answer, kept until the next step so that a repeated request gets it again. */
    private record LastMove(dev.splitllm.quantization.protocol.MoveRequest request, Moved moved) {
    }

    private LastMove lastMove;

    /** A replay that cannot be accepted: nothing of it stays. */
    static final class ReplayRefused extends RuntimeException {
        ReplayRefused(String message) {
            super(message);
        }
    }

    /**
     * Rebuilds this fresh session from the edge's log: frames of steps 0 .. n-1 (the last one the
     * step in flight when the old replica was lost). Every frame is decoded and checked against
     * the chain (tag, step, phase, start position, codec state carried from frame to frame, the
     * frame's CRC inside the decoder), then all positions go through the back blocks as ONE
     * batched forward, the sampler is advanced past the n-1 steps already answered (one draw per
     * step when sampling; greedy draws none), and the last step is sampled: the same token the lost
     * replica gave or would have given. Throws {@link ReplayRefused} on any mismatch; the caller
     * then discards the session.
     */
    TokenMessage replay(java.util.List<byte[]> frames, FrameLimits limits) {
        return replay(frames, limits, null);
    }

    /** As above; with a scheduler the positions go through its ticks as prefill chunks, sharing them with decodes. */
    TokenMessage replay(java.util.List<byte[]> frames, FrameLimits limits, StepScheduler scheduler) {
        lock.lock();
        try {
            if (nextStep != 0) throw new IllegalStateException("replay needs a fresh session");
            tokensKnown = false; // the frames carry hidden states, not the tokens generated before them
            if (frames.isEmpty()) throw new ReplayRefused("a replay needs at least the prefill frame");
            if (frames.size() > maxSeqLen) {
                throw new ReplayRefused(frames.size() + " frames exceed the session's max sequence length " + maxSeqLen);
            }
            long t0 = System.nanoTime();
            int dim = segment.config().dim();
            float[][] rows = new float[frames.size()][];
            int position = 0;
            Frame last = null;
            for (int i = 0; i < frames.size(); i++) {
                Frame frame;
                try {
                    frame = wire.decodeFrame(frames.get(i), limits);
                } catch (FrameException e) {
                    throw new ReplayRefused("frame " + i + ": " + e.getMessage());
                }
                FrameHeader h = frame.header();
                if (h.sessionId() != frameTag) throw new ReplayRefused("frame " + i + " belongs to another session");
                if (h.step() != i) throw new ReplayRefused("frame " + i + " carries step " + h.step() + "; steps must run 0, 1, 2, ...");
                String mismatch = mismatch(h, position);
                if (mismatch != null) throw new ReplayRefused("frame " + i + " (step " + h.step() + "): " + mismatch);
                if (position + h.tokens() > maxSeqLen) {
                    throw new ReplayRefused("replay reaches position " + (position + h.tokens())
                            + ", beyond the session's max sequence length " + maxSeqLen);
                }
                if (frame.draft() != null) {
                    // Earlier DRAFT frames come back holding only their accepted rows (the edge rewrites
                    // them once answered); the last one is the step in flight and is verified below.
                    String bad = draftProblem(frame.draft(), i == frames.size() - 1);
                    if (bad != null) throw new ReplayRefused("frame " + i + " (step " + h.step() + "): " + bad);
                }
                wire.accept(frame); // the next frame decodes with the channel set this one carried
                rows[i] = frame.hidden();
                last = frame;
                position += h.tokens();
            }
            float[] hidden = new float[position * dim]; // bounded: position <= maxSeqLen
            int at = 0;
            for (float[] r : rows) {
                System.arraycopy(r, 0, hidden, at, r.length);
                at += r.length;
            }
            for (int i = 0; i < frames.size() - 1; i++) {
                advanceSampler(); // the forward does not touch the sampler: advancing first is the same
            }
            int token;
            int accepted = 0;
            if (last.draft() == null) {
                token = step(scheduler, hidden, position); // every replayed position in one prefill (chunked in ticks)
            } else {
                // The committed positions in one prefill, then the draft in flight verified as on the lost replica.
                int rowsInFlight = last.header().tokens(), committed = position - rowsInFlight;
                if (committed > 0) forwardOnly(scheduler, hidden, committed);
                float[] inFlight = java.util.Arrays.copyOfRange(hidden, committed * dim, position * dim);
                DraftVerifier.Result r = verify(scheduler, inFlight, rowsInFlight, last.draft());
                segment.truncate(committed + r.accepted + 1);
                token = r.next;
                accepted = r.accepted;
            }
            long lastStep = frames.size() - 1;
            lastAnswer = new TokenMessage(lastStep, token, (System.nanoTime() - t0) / 1e6, accepted);
            lastAnsweredStep = lastStep;
            nextStep = lastStep + 1;
            touch();
            return lastAnswer;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Moves the sampler past one step already answered elsewhere: a sampling step draws exactly one
     * number from the seeded generator whatever the logits, so sampling a one-entry distribution
     * draws it; greedy draws nothing.
     */
    private void advanceSampler() {
        if (sampler.temperature() > 0f) sampler.sample(ONE_LOGIT);
    }

    private static final float[] ONE_LOGIT = {0f};

    /** The last answered step and its answer (for an idempotent repeat of a replay). */
    TokenMessage lastAnswer() {
        lock.lock();
        try {
            return lastAnswer;
        } finally {
            lock.unlock();
        }
    }

    int position() {
        lock.lock();
        try {
            return segment.position();
        } finally {
            lock.unlock();
        }
    }

    /** The outlier channel set the session decodes with (null before a committed frame carried one). */
    OutlierChannels channels() {
        lock.lock();
        try {
            return wire.channels();
        } finally {
            lock.unlock();
        }
    }

    long nextStep() {
        lock.lock();
        try {
            return nextStep;
        } finally {
            lock.unlock();
        }
    }

    // ---- tokens, mirror, hand-off and restore (docs/PROTOCOL.md, "Hand-off and restore") --------

    /** Records a generated token (bounded: a session holds at most maxSeqLen + 1) and wakes token streams. */
    private void record(int token) {
        if (generatedCount < generated.length) generated[generatedCount++] = token;
        tokensChanged.signalAll();
    }

    private void endCloudGeneration(String why) {
        if (cloudRunning) {
            cloudRunning = false;
            cloudStop = why;
        }
        tokensChanged.signalAll();
    }

    /**
     * Takes one SPKV frame of the edge's mirror: KV of layers [0, splitLayer) for the positions that
     * follow what the mirror holds, no further than the session's position. The first frame reserves
     * the mirror's KV (the edge's layers at maxSeqLen) through {@code reserve}, which may refuse.
     * Returns null when taken, else why not (the session is untouched either way).
     */
    dev.splitllm.quantization.protocol.ErrorMessage mirror(byte[] bytes, int maxKvFrameBytes, java.util.function.LongConsumer reserve,
                                                           long socketRestores) {
        lock.lock();
        try {
            if (closed) return new dev.splitllm.quantization.protocol.ErrorMessage("closed", "session " + id + " is closed", -1, true);
            if (socketRestores >= 0 && socketRestores != restores) {
                return new dev.splitllm.quantization.protocol.ErrorMessage(RESTORED_ELSEWHERE, "session " + id
                        + " was restored by another edge", -1, true);
            }
            if (cloudRunning || splitLayer == 0) {
                return badMirror("the session holds no edge layers to mirror (split " + splitLayer + (cloudRunning ? ", handed off" : "") + ")");
            }
            int kvDim = segment.config().kvDim();
            dev.splitllm.quantization.kv.KvDelta d;
            try {
                d = dev.splitllm.quantization.kv.KvDeltaCodec.decode(bytes,
                        new dev.splitllm.quantization.kv.KvLimits(0, splitLayer, maxSeqLen, kvDim, maxKvFrameBytes, epoch));
            } catch (dev.splitllm.quantization.kv.KvFrameException e) {
                return badMirror("mirror frame refused: " + e.getMessage());
            }
            if (d.sessionTag() != frameTag) return badMirror("mirror frame belongs to another session");
            int held = mirror == null ? 0 : mirror.positions();
            if (d.start() != held || d.start() + d.positions() > segment.position()) {
                return badMirror("mirror frame holds positions [" + d.start() + ", " + (d.start() + d.positions())
                        + "); the mirror holds [0, " + held + ") and the session [0, " + segment.position() + ")");
            }
            if (mirror == null) {
                long bytesNeeded = dev.splitllm.engine.model.MemoryAccount.kvCacheBytes(segment.config(), splitLayer, maxSeqLen);
                try {
                    reserve.accept(bytesNeeded);
                } catch (ApiException e) {
                    return badMirror("no room for the mirror: " + e.getMessage());
                }
                try {
                    mirror = new MirrorKv(splitLayer, maxSeqLen, kvDim);
                } catch (RuntimeException | Error e) {
                    reserve.accept(-bytesNeeded); // never keep a reservation nothing holds
                    throw e;
                }
                mirrorReservedBytes = bytesNeeded;
                reservedKvBytes += bytesNeeded;
            }
            mirror.append(d);
            return null;
        } finally {
            lock.unlock();
        }
    }

    private static dev.splitllm.quantization.protocol.ErrorMessage badMirror(String message) {
        return new dev.splitllm.quantization.protocol.ErrorMessage("bad_mirror", message, -1, false);
    }

    /** Restores so far (stamped on each socket when it opens). */
    long restores() {
        return restores;
    }

    /** False once a replay rebuilt the session here: token indices before it are not known. */
    boolean tokensKnown() {
        lock.lock();
        try {
            return tokensKnown;
        } finally {
            lock.unlock();
        }
    }

    /** Tokens the session has generated so far (edge steps and the cloud alone). */
    int tokenCount() {
        lock.lock();
        try {
            return generatedCount;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Hands the rest of the generation to the cloud: moves the cut to 0 (the KV of the edge's layers
     * from {@code kvUp} and the mirror), then marks the session as generating alone; the caller runs
     * {@link #cloudStep} until it returns -1. Refusals leave everything as it was.
     *
     * @param eos the end-of-sequence id, {@code bos} the begin id (llama2.c stories end with it)
     */
    dev.splitllm.quantization.protocol.HandedOff handOff(dev.splitllm.quantization.protocol.HandOffRequest req, byte[] kvUp,
            dev.splitllm.engine.forward.Backend backend, int maxKvFrameBytes, java.util.function.LongConsumer reserve, int eos, int bos) {
        lock.lock();
        try {
            if (closed) throw new MoveRefused("closed", "session " + id + " is closed");
            if (cloudRunning) throw new MoveRefused("handed_off", "session " + id + " was handed off already");
            if (!tokensKnown) {
                throw new MoveRefused("bad_move", "session " + id + " was rebuilt here from a replay: the tokens before it are "
                        + "not known, so the cloud cannot continue alone");
            }
            if (req.maxTokens() < 1 || req.maxTokens() > maxSeqLen) {
                throw new MoveRefused("bad_move", "maxTokens " + req.maxTokens() + " is not in [1, " + maxSeqLen + "]");
            }
            if (generatedCount < 1) throw new MoveRefused("bad_step", "a hand-off follows the first token (the prefill's answer)");
            int[] ids = req.prompt();
            if (ids != null && (ids.length < 1 || ids.length > maxSeqLen || ids.length + generatedCount - 1 != segment.position())) {
                throw new MoveRefused("bad_move", "a prompt of " + ids.length + " tokens and " + generatedCount
                        + " generated do not make the session's " + segment.position() + " positions");
            }
            if (ids != null) {
                int vocab = segment.config().vocabSize();
                for (int t : ids) if (t < 0 || t >= vocab) throw new MoveRefused("bad_move", "prompt token " + t + " is outside the vocabulary");
            }
            int mirrored = 0;
            long kvBytes = kvUp == null ? 0 : kvUp.length;
            double ms = 0;
            if (splitLayer > 0) {
                mirrored = req.mirrored();
                Moved m = move(new dev.splitllm.quantization.protocol.MoveRequest(req.fromSplit(), 0, req.epoch(), req.step(),
                        req.positions(), req.kv(), null, req.mirrored()), kvUp, backend, maxKvFrameBytes, reserve);
                ms = m.answer().cloudMs();
            } else {
                if (req.epoch() != epoch) throw new MoveRefused("stale_epoch", "the hand-off names epoch " + req.epoch() + "; the session is at " + epoch);
                if (req.fromSplit() != 0 || req.step() != nextStep || req.positions() != segment.position() || kvUp != null) {
                    throw new MoveRefused("bad_move", "the session is at split 0, step " + nextStep + ", " + segment.position()
                            + " positions; the hand-off names split " + req.fromSplit() + ", step " + req.step() + ", "
                            + req.positions() + " positions" + (kvUp != null ? " and carries KV" : ""));
                }
            }
            if (ids != null) prompt = ids.clone();
            cloudRunning = true;
            cloudStop = null;
            cloudRemaining = req.maxTokens();
            cloudIgnoreEos = req.ignoreEos();
            eosId = eos;
            bosId = bos;
            touch();
            return new dev.splitllm.quantization.protocol.HandedOff(id, epoch, segment.position(), mirrored, kvBytes, ms);
        } finally {
            lock.unlock();
        }
    }

    /**
     * One token of the cloud's own generation: the last token through every block, sampled with the
     * session's sampler (the same draws the edge-driven steps would have made). Returns the token, or
     * -1 when the generation has ended (its stop reason set: eos, max_tokens, context_full, restored,
     * closed, error). Takes the lock per token, so a restore or a delete gets in between tokens.
     */
    int cloudStep(StepScheduler scheduler) {
        lock.lock();
        try {
            if (!cloudRunning) return -1;
            if (closed) {
                endCloudGeneration("closed");
                return -1;
            }
            if (cloudRemaining <= 0) {
                endCloudGeneration("max_tokens");
                return -1;
            }
            int start = segment.position();
            if (start + 1 > maxSeqLen) {
                endCloudGeneration("context_full");
                return -1;
            }
            long t0 = System.nanoTime();
            long samplerState = sampler.state();
            int token;
            try {
                float[] hidden = segment.embed(new int[] {generated[generatedCount - 1]});
                token = step(scheduler, hidden, 1);
            } catch (RuntimeException | Error e) {
                segment.truncate(Math.min(start, segment.position()));
                sampler.restoreState(samplerState);
                endCloudGeneration("error");
                throw e;
            }
            record(token);
            lastMove = null;
            lastAnswer = new TokenMessage(nextStep, token, (System.nanoTime() - t0) / 1e6, 0);
            lastAnsweredStep = nextStep;
            nextStep++;
            cloudRemaining--;
            touch();
            if (!cloudIgnoreEos && (token == eosId || token == bosId)) {
                endCloudGeneration("eos");
            } else if (cloudRemaining == 0) {
                endCloudGeneration("max_tokens");
            }
            return token;
        } finally {
            lock.unlock();
        }
    }

    /** What a restore hands back (see {@link dev.splitllm.quantization.protocol.SessionRestored}). */
    record Restored(long epoch, int splitLayer, int positions, long nextStep, int[] prompt, int[] tokens, String stop, int mirrored) {
    }

    /**
     * The mirror as one SPKV frame (layers [0, splitLayer), positions [0, mirrored), the current
     * epoch, fp32: the rows as they came), for a restored edge to load instead of recomputing them;
     * null when there is no mirror.
     */
    byte[] mirrorFrame(int maxBytes) {
        lock.lock();
        try {
            if (closed || mirror == null || mirror.positions() == 0 || mirror.layers() != splitLayer) return null;
            int p = mirror.positions(), kvDim = segment.config().kvDim();
            long bytes = dev.splitllm.quantization.kv.KvDeltaCodec.frameBytes(dev.splitllm.quantization.kv.KvSpec.FP32, mirror.layers(), p, kvDim);
            if (bytes > maxBytes) {
                throw new MoveRefused("too_large", "the mirror of " + mirror.layers() + " layers at " + p + " positions is " + bytes
                        + " bytes, over the " + maxBytes + " a download may hold: recompute the layers instead");
            }
            float[][][] rows = mirror.rows(0, mirror.layers(), p, null);
            return dev.splitllm.quantization.kv.KvDeltaCodec.encode(dev.splitllm.quantization.kv.KvSpec.FP32, frameTag, epoch, 0, 0, p,
                    kvDim, rows[0], rows[1]);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A new edge takes the session back: the cloud's own generation stops (between two tokens), a new
     * epoch starts (frames and moves of the old edge are refused from now on) with a fresh codec
     * state, and the edge gets everything it needs to rebuild its layers and go on.
     */
    Restored restore() {
        lock.lock();
        try {
            if (closed) throw new MoveRefused("closed", "session " + id + " is closed");
            if (!tokensKnown) {
                throw new MoveRefused("bad_move", "session " + id + " was rebuilt here from a replay: the tokens before it are "
                        + "not known, so it cannot be restored from here");
            }
            if (generatedCount < 1) throw new MoveRefused("bad_step", "session " + id + " has no token yet: open a new one");
            endCloudGeneration("restored");
            String stop = cloudStop;
            // Two, not one: an edge still holding the old epoch E that replays would claim E + 1 and be
            // taken for a repeat of its own replay; at E + 2 here it is refused as stale.
            epoch += 2;
            restores++;
            epochFirstStep = nextStep;
            wire = new SessionCodec(codec, wire.tables()).receiveCompactFrames(frameTag, segment.config().dim()); // the new edge's first frame chooses the outlier channels
            lastMove = null;
            // The mirror stays: its rows are the edge's KV whoever computes them; the new edge may take them
            // down (mirrorFrame) and goes on mirroring from where it ends, in the new epoch.
            touch();
            return new Restored(epoch, splitLayer, segment.position(), nextStep, prompt == null ? null : prompt.clone(),
                    java.util.Arrays.copyOf(generated, generatedCount), stop, mirror == null ? 0 : mirror.positions());
        } finally {
            lock.unlock();
        }
    }

    /** Tokens [from, ...) recorded so far, and, once the cloud's own generation has ended, why (else null). */
    record TokenView(int[] tokens, int total, boolean running, String stop) {
    }

    /**
     * Tokens from index {@code from} on, waiting up to {@code waitNanos} for one when there is none
     * yet and the cloud is generating.
     */
    TokenView tokensSince(int from, long waitNanos) throws InterruptedException {
        lock.lock();
        try {
            long left = waitNanos;
            while (cloudRunning && !closed && generatedCount <= from && left > 0) {
                left = tokensChanged.awaitNanos(left);
            }
            int n = Math.max(0, generatedCount - from);
            int[] out = n == 0 ? new int[0] : java.util.Arrays.copyOfRange(generated, from, generatedCount);
            return new TokenView(out, generatedCount, cloudRunning && !closed, cloudStop);
        } finally {
            lock.unlock();
        }
    }

    /** The status route's view. */
    Map<String, Object> status() {
        lock.lock();
        try {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("sessionId", id);
            m.put("epoch", epoch);
            m.put("splitLayer", splitLayer);
            m.put("nextStep", nextStep);
            m.put("positions", segment.position());
            m.put("tokens", generatedCount);
            m.put("codec", codec.toString());
            m.put("maxSeqLen", maxSeqLen);
            m.put("mirrored", mirror == null ? 0 : mirror.positions());
            m.put("cloud", cloudRunning ? "running" : cloudStop == null ? "idle" : cloudStop);
            return m;
        } finally {
            lock.unlock();
        }
    }
}
