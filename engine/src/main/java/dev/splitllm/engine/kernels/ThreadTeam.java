package dev.splitllm.engine.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed team of threads that splits a row range among its members: the calling thread and
 * {@code threads - 1} daemon workers take chunks of the range from a shared counter until none
 * are left. A decode step issues dozens of small matmuls, so hand-off cost matters more than
 * generality: idle workers spin briefly before parking, and a job is a plain range split.
 *
 * <p>Dynamic chunks keep a busy machine from stalling the caller: a worker that is not
 * scheduled in time simply takes no chunks, and the caller does them itself instead of waiting
 * (the caller only waits for chunks a worker has actually started).
 *
 * <p>One job at a time. A caller that finds the team busy with another caller's job (a
 * server running several sessions on one team) does its whole range itself instead of
 * waiting, so concurrent sessions still use every core. A team of one thread runs everything
 * inline.
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
    /** Chunks per thread: enough to rebalance, few enough to keep hand-off cheap. */
    private static final int CHUNKS_PER_THREAD = 4;

    /** One range split: what the members share while it runs. */
    private static final class Job {
        final RangeTask task;
        final int n;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        /** Members currently inside a chunk (or about to take one). */
        final AtomicInteger inFlight = new AtomicInteger();
        volatile Throwable failure;

        Job(RangeTask task, int n, int chunks) {
            this.task = task;
            this.n = n;
            this.chunks = chunks;
        }

        /** Takes and runs chunks until none are left. */
        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                try {
                    task.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
                } catch (Throwable t) {
                    failure = t;
                }
            }
        }
    }

    private final int threads;
    private final Thread[] workers;
    private final ReentrantLock busy = new ReentrantLock();
    private volatile Job current;
    private volatile int generation;
    private volatile boolean closed;

    public ThreadTeam(int threads) {
        if (threads < 1 || threads > 1024) {
            throw new IllegalArgumentException("threads must be in [1, 1024], got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workLoop, "splitllm-kernel-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /** Number of threads including the caller. */
    public int threads() {
        return threads;
    }

    /** Runs task over [0, n), in chunks shared by the team, and returns when all are done. */
    public void run(int n, RangeTask task) {
        if (threads == 1 || n < 2 * threads || !busy.tryLock()) {
            task.run(0, n);
            return;
        }
        try {
            if (closed) {
                throw new IllegalStateException("thread team is closed");
            }
            Job job = new Job(task, n, Math.min(n, threads * CHUNKS_PER_THREAD));
            current = job;
            generation++;
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            job.inFlight.incrementAndGet();
            job.work();
            job.inFlight.decrementAndGet();
            while (job.inFlight.get() != 0) {
                spinPause();
            }
            current = null;
            Throwable t = job.failure;
            if (t != null) {
                if (t instanceof RuntimeException) throw (RuntimeException) t;
                if (t instanceof Error) throw (Error) t;
                throw new IllegalStateException(t);
            }
        } finally {
            busy.unlock();
        }
    }

    private void workLoop() {
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
            Job job = current;
            if (job == null) {
                continue; // the caller finished the whole job before this worker woke up
            }
            job.inFlight.incrementAndGet();
            try {
                job.work();
            } finally {
                job.inFlight.decrementAndGet();
            }
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

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
