package dev.splitllm.cloud;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bounds of one stream socket: replies written to the network but not yet taken by the
 * client (a client that sends and never reads is closed, not buffered for), and consecutive
 * refused frames (a socket that only sends junk is closed).
 */
final class SocketGuard {
    /** Replies one socket may have waiting to be written. */
    static final int MAX_PENDING_REPLIES = 64;
    /** Refused frames in a row that close the socket. */
    static final int MAX_CONSECUTIVE_BAD_FRAMES = 16;

    private final AtomicInteger pendingReplies = new AtomicInteger();
    /** Touched only by the socket's reader (Jetty delivers one socket's messages one at a time). */
    private int consecutiveBadFrames;

    /** Counts a reply about to be queued; false when the client has stopped reading. */
    boolean replyQueued() {
        return pendingReplies.incrementAndGet() <= MAX_PENDING_REPLIES;
    }

    /** A queued reply was written (or failed). */
    void replyDone() {
        pendingReplies.decrementAndGet();
    }

    int pendingReplies() {
        return pendingReplies.get();
    }

    /** Counts a refused frame; true when the socket has now sent too many in a row. */
    boolean badFrame() {
        return ++consecutiveBadFrames >= MAX_CONSECUTIVE_BAD_FRAMES;
    }

    void frameAccepted() {
        consecutiveBadFrames = 0;
    }
}
