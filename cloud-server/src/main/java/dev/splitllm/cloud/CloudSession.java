package dev.splitllm.cloud;

import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.OutlierChannels;
import dev.splitllm.quantization.protocol.ErrorMessage;
import dev.splitllm.quantization.protocol.TokenMessage;
import dev.splitllm.quantization.wire.Frame;
import dev.splitllm.quantization.wire.FrameException;
import dev.splitllm.quantization.wire.FrameHeader;
import dev.splitllm.quantization.wire.FrameLimits;
import dev.splitllm.quantization.wire.Phase;
import dev.splitllm.quantization.wire.SessionCodec;
import java.security.MessageDigest;
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
 */
final class CloudSession {
    final String id;
    final long frameTag;
    final int splitLayer;
    final CodecSpec codec;
    final String cloudWeights;
    final int maxSeqLen;
    /** KV bytes the registry reserved for this session: exactly what it releases when the session goes. */
    final long reservedKvBytes;
    private final byte[] ownerDigest;
    private final Segment segment;
    private final Sampler sampler;
    private final ReentrantLock lock = new ReentrantLock();
    /**
     * The session's codec with its state (the outlier channels the edge announced); used only
     * under the lock, and a frame's channels are adopted only once its step is committed.
     */
    private final SessionCodec wire;
    private long nextStep;
    private long lastAnsweredStep = -1;
    private TokenMessage lastAnswer;
    private volatile long lastActiveNanos = System.nanoTime();
    private volatile boolean closed;

    CloudSession(String id, long frameTag, byte[] ownerDigest, int splitLayer, CodecSpec codec, String cloudWeights,
                 int maxSeqLen, long reservedKvBytes, Segment segment, Sampler sampler) {
        this.id = id;
        this.frameTag = frameTag;
        this.ownerDigest = ownerDigest;
        this.splitLayer = splitLayer;
        this.codec = codec;
        this.cloudWeights = cloudWeights;
        this.maxSeqLen = maxSeqLen;
        this.segment = segment;
        this.sampler = sampler;
        this.reservedKvBytes = reservedKvBytes;
        this.wire = new SessionCodec(codec);
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
            segment.close();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Outcome of one frame: exactly one of answer / error is set. */
    record Outcome(TokenMessage answer, ErrorMessage error, boolean replayed, Phase phase) {
        static Outcome error(String code, String message, long step, boolean fatal) {
            return new Outcome(null, new ErrorMessage(code, message, step, fatal), false, null);
        }
    }

    /** Decodes and validates a frame against this session and, if it is the next step, runs it. */
    Outcome handle(byte[] bytes, FrameLimits limits) {
        lock.lock();
        try {
            touch();
            if (closed) {
                return Outcome.error("closed", "session " + id + " is closed", -1, true);
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
            if (h.step() == lastAnsweredStep && lastAnswer != null) {
                return new Outcome(lastAnswer, null, true, h.phase());
            }
            if (h.step() != nextStep) {
                return Outcome.error("bad_step", "expected step " + nextStep + ", got " + h.step()
                        + (h.step() < nextStep ? " (already processed)" : " (steps must not skip)"), h.step(), false);
            }
            String mismatch = mismatch(h);
            if (mismatch != null) {
                return Outcome.error("bad_frame", mismatch, h.step(), false);
            }
            if (segment.position() + h.tokens() > maxSeqLen) {
                return Outcome.error("context_full", "position " + segment.position() + " + " + h.tokens()
                        + " tokens exceeds the session's max sequence length " + maxSeqLen, h.step(), false);
            }
            long t0 = System.nanoTime();
            float[] hidden = frame.hidden();
            int start = segment.position();
            long samplerState = sampler.state();
            int token;
            try {
                segment.forward(hidden, h.tokens());
                token = sampler.sample(segment.lastLogits(hidden, h.tokens()));
            } catch (RuntimeException | Error e) {
                // Roll back so the same step can be sent again: nothing of it stays in the state
                // (the frame's channel set was never accepted).
                segment.truncate(Math.min(start, segment.position()));
                sampler.restoreState(samplerState);
                throw e;
            }
            wire.accept(frame); // committed: from now on the session decodes with the set it carried
            lastAnswer = new TokenMessage(h.step(), token, (System.nanoTime() - t0) / 1e6);
            lastAnsweredStep = h.step();
            nextStep = h.step() + 1;
            return new Outcome(lastAnswer, null, false, h.phase());
        } finally {
            lock.unlock();
        }
    }

    private String mismatch(FrameHeader h) {
        if (h.splitLayer() != splitLayer) return "frame split layer " + h.splitLayer() + " != session's " + splitLayer;
        if (h.dim() != segment.config().dim()) return "frame width d=" + h.dim() + " != model's " + segment.config().dim();
        if (!h.codec().equals(codec)) return "frame codec " + h.codec() + " != session's " + codec;
        if (h.startPosition() != segment.position()) {
            return "frame starts at position " + h.startPosition() + " but the session is at " + segment.position();
        }
        if (h.step() == 0 && h.phase() != Phase.PREFILL) return "step 0 must be a PREFILL frame";
        if (h.step() > 0 && (h.phase() != Phase.DECODE || h.tokens() != 1)) return "steps after 0 must be DECODE frames of one token";
        return null;
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
}
