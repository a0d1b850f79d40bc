package dev.splitllm.engine.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of threads that splits a row range among its members: the calling thread
 * takes the first share and {@code threads - 1} daemon workers the rest. A decode step issues
 * dozens of small matmuls, so hand-off cost matters more than generality: idle workers spin
 * briefly before parking, and a job is a plain range split with no task objects.
 *
 * <p>One job at a time: {@link #run} is synchronized, so a team shared between sessions
 * serializes them. A team of one thread runs everything inline.
 */
public final class ThreadTeam implements AutoCloseable {

    /** Work on rows [from, to). */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private static final long SPIN_NANOS = 50_000;
    /** {@link Thread#onSpinWait} exists: every JDK since 9, but Android only from API level 33. */
    private static final boolean ON_SPIN_WAIT = hasOnSpinWait();

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile int generation;
    private volatile boolean closed;
    private volatile RangeTask task;
    private volatile int jobSize;
    private volatile Throwable failure;

    public ThreadTeam(int threads) {
        if (threads < 1 || threads > 1024) {
            throw new IllegalArgumentException("threads must be in [1, 1024], got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int member = i + 1;
            Thread t = new Thread(() -> workLoop(member), "splitllm-kernel-" + member);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /** Number of threads including the caller. */
    public int threads() {
        return threads;
    }

    /** Runs task over [0, n), split into contiguous shares, and returns when all are done. */
    public synchronized void run(int n, RangeTask task) {
        if (threads == 1 || n < 2 * threads) {
            task.run(0, n);
            return;
        }
        if (closed) {
            throw new IllegalStateException("thread team is closed");
        }
        this.task = task;
        this.jobSize = n;
        this.failure = null;
        pending.set(threads - 1);
        generation++;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        Throwable mine = null;
        try {
            task.run(0, shareEnd(n, 0));
        } catch (Throwable t) {
            mine = t;
        }
        while (pending.get() != 0) {
            spinPause();
        }
        this.task = null;
        Throwable theirs = failure;
        if (mine != null || theirs != null) {
            Throwable t = mine != null ? mine : theirs;
            if (t instanceof RuntimeException) throw (RuntimeException) t;
            if (t instanceof Error) throw (Error) t;
            throw new IllegalStateException(t);
        }
    }

    private int shareEnd(int n, int member) {
        return (int) ((long) n * (member + 1) / threads);
    }

    private void workLoop(int member) {
        int seen = 0;
        while (true) {
            long spinStart = System.nanoTime();
            while (generation == seen && !closed) {
                if (System.nanoTime() - spinStart < SPIN_NANOS) {
                    spinPause();
                } else {
                    LockSupport.park(this);
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            int n = jobSize;
            try {
                task.run(shareEnd(n, member - 1), shareEnd(n, member));
            } catch (Throwable t) {
                failure = t;
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }

    /** A busy-wait hint where the runtime has one; a plain retry elsewhere. */
    private static void spinPause() {
        if (ON_SPIN_WAIT) {
            Thread.onSpinWait();
        }
    }

    private static boolean hasOnSpinWait() {
        try {
            Thread.class.getMethod("onSpinWait");
            return true;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }
}
