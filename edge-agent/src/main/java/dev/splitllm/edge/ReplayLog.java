package dev.splitllm.edge;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * What the edge keeps so that a lost or drained replica costs one replay, not the session: every
 * frame it sent, in step order (the prefill, then one decode frame per token, or one DRAFT frame
 * per speculative step cut to its accepted rows once answered; the last entry is the step in
 * flight). The frames are the compressed bytes as sent, so the log costs what the
 * uplink cost: about one decode frame per token (fp32 at d=288: 1,152 payload bytes plus the
 * header; the default TAB-Q codec: about 350 bytes), never more than the session's maxSeqLen
 * positions, because the stepper never runs past them.
 */
final class ReplayLog {
    private final int maxPositions;
    private final List<byte[]> frames = new ArrayList<>();
    /** Positions each logged frame holds (what a re-based log must reproduce step by step). */
    private final List<Integer> tokens = new ArrayList<>();
    private long bytes;
    private int positions;
    /** The step of the first logged frame: 0, or where a restored session took over (it cannot replay). */
    private long firstStep;

    ReplayLog(int maxPositions) {
        this.maxPositions = maxPositions;
    }

    /**
     * A restored session logs from {@code step} on, its first {@code positions} positions made by
     * another process (such a log only bounds positions; it cannot rebuild the session).
     */
    void startAt(long step, int positions) {
        if (!frames.isEmpty()) throw new IllegalStateException("the log already holds frames");
        this.firstStep = step;
        this.positions = positions;
    }

    /** Records the frame of {@code step} (holding {@code tokens} positions) once; a resend of it adds nothing. */
    void add(long step, byte[] frame, int tokens) {
        long index = step - firstStep;
        if (index < frames.size()) return; // a resend of a logged step
        if (index != frames.size()) throw new IllegalStateException("step " + step + " after " + frames.size() + " logged steps");
        if (positions + tokens > maxPositions) {
            throw new IllegalStateException("the replay log would hold " + (positions + tokens) + " positions; the session has "
                    + maxPositions);
        }
        frames.add(frame);
        this.tokens.add(tokens);
        bytes += frame.length;
        positions += tokens;
    }

    /**
     * Replaces the frame of the last step, once answered, by the frame of what the cloud kept of it
     * (a DRAFT frame cut to its accepted rows), so a replay rebuilds exactly the kept positions.
     */
    void replaceLast(long step, byte[] frame, int tokens, int previousTokens) {
        if (step != firstStep + frames.size() - 1) throw new IllegalStateException("step " + step + " is not the last logged step");
        if (tokens > previousTokens) throw new IllegalStateException("a committed frame only keeps rows");
        byte[] old = frames.set(frames.size() - 1, frame);
        this.tokens.set(this.tokens.size() - 1, tokens);
        bytes += frame.length - old.length;
        positions += tokens - previousTokens;
    }

    int frames() {
        return frames.size();
    }

    long bytes() {
        return bytes;
    }

    int positions() {
        return positions;
    }

    /** True when every logged step before {@code step} after the prefill held one position (no kept drafts). */
    boolean singlePositionStepsBefore(long step) {
        for (int i = 1; i < Math.min(step - firstStep, tokens.size()); i++) {
            if (tokens.get(i) != 1) return false;
        }
        return firstStep == 0;
    }

    /** The replay body after the head: per frame, a 4-byte big-endian length and the frame. */
    byte[] body(byte[] head) {
        return body(head, List.of());
    }

    /**
     * As {@link #body(byte[])} with the first {@code rebased.size()} logged frames replaced by
     * {@code rebased} (the same steps re-encoded at the session's current cut, after a move).
     */
    byte[] body(byte[] head, List<byte[]> rebased) {
        return body(head, rebased, java.util.function.UnaryOperator.identity());
    }

    /** As {@link #body(byte[], List)} with every logged frame sent through {@code asSent} (compact frames made full). */
    byte[] body(byte[] head, List<byte[]> rebased, java.util.function.UnaryOperator<byte[]> asSent) {
        long size = 4 + head.length + bytes + 4L * frames.size();
        for (byte[] f : rebased) size += f.length;
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(Integer.MAX_VALUE - 16, size));
        writeInt(out, head.length);
        out.write(head, 0, head.length);
        for (int i = 0; i < frames.size(); i++) {
            byte[] f = i < rebased.size() ? rebased.get(i) : asSent.apply(frames.get(i));
            writeInt(out, f.length);
            out.write(f, 0, f.length);
        }
        return out.toByteArray();
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }
}
