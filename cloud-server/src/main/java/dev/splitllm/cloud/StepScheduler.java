package dev.splitllm.cloud;

import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.sample.Sampler;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching of the back segments: one thread runs ticks, and each tick puts the
 * pending rows of many sessions (decode rows, chunks of a prefill) through ONE
 * {@link Transformer#forwardBatch}, so the back layers' weights are streamed once per tick
 * instead of once per session, then computes the logits of every finished job in one pass over
 * the classifier. Each session's rows attend only to its own KV cache.
 *
 * <p>A session's step thread (which holds the session's lock, so the step rule and rollback stay
 * in {@link CloudSession}) submits a job and waits for its logits; it samples itself.
 *
 * <p>Fairness: decode rows first, in arrival order (FIFO), up to the token budget; rows that do
 * not fit keep their place at the head for the next tick. Prefill chunks then fill what is left,
 * oldest prefill first; the oldest prefill always gets at least {@link #MIN_CHUNK} rows, so
 * neither decodes (always served first) nor long prompts (advancing every tick) starve. Every
 * chunk of a prompt is at least {@link #MIN_CHUNK} rows, so a row's kernels (chosen by the
 * chunk's size, see {@code Transformer.rows}) are those of the whole prompt run at once:
 * batched and unbatched runs give the same bits.
 *
 * A tick may exceed the budget by less than 2 * MIN_CHUNK rows (a short tail is never left).
 * One tick runs one set of weights: the oldest waiting job picks it, so sessions on another
 * cloud weight format get the next tick once theirs is the oldest job.
 *
 * <p>Only Java-engine segments join; {@link #accepts} says which. Bounded: at most one job per
 * session is in flight (its lock), and the inbox holds {@code maxSessions} jobs.
 */
final class StepScheduler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StepScheduler.class);
    /** Smallest prefill chunk (and smallest tail), see the class comment. */
    static final int MIN_CHUNK = 4;
    /** Default rows per tick. */
    static final int DEFAULT_TOKEN_BUDGET = 128;

    /** What a job wants once its rows have passed the blocks. */
    enum Want {
        /** The token its sampler draws from the last row (decode steps, prefills). */
        SAMPLE_LAST,
        /** The logits of every row, each row with the one-token kernels (a DRAFT frame being verified). */
        ROW_LOGITS,
        /** Nothing: the rows only fill the KV cache (the committed part of a replay). */
        FORWARD_ONLY
    }

    /** One forward a session waits for. */
    static final class Job {
        final Transformer tf;
        final SegmentState state;
        final float[] hidden;
        final int tokens;
        final Want want;
        /** Served with the decodes, whole in one tick: one-token steps and drafts. */
        final boolean decode;
        /** The session's sampler: its step thread waits, so the scheduler may use it meanwhile. */
        final Sampler sampler;
        final long arrival = System.nanoTime();
        int done;
        int token;
        /** ROW_LOGITS: tokens x vocab. */
        float[] rowLogits;
        RuntimeException failure;
        final CountDownLatch finished = new CountDownLatch(1);

        Job(Transformer tf, SegmentState state, float[] hidden, int tokens, Sampler sampler, Want want) {
            this.tf = tf;
            this.state = state;
            this.hidden = hidden;
            this.tokens = tokens;
            this.want = want;
            this.decode = want == Want.ROW_LOGITS || (want == Want.SAMPLE_LAST && tokens == 1);
            this.sampler = sampler;
        }
    }

    private final int tokenBudget;
    private final ArrayBlockingQueue<Job> inbox;
    private final ArrayDeque<Job> decodes = new ArrayDeque<>();
    private final ArrayDeque<Job> prefills = new ArrayDeque<>();
    private final Thread thread;
    private volatile boolean stopped;
    private final Transformer.BatchBuffers buffers = new Transformer.BatchBuffers();
    /** Per-tick work lists, reused. */
    private final List<Job> tick = new ArrayList<>();
    private final List<Integer> tickRows = new ArrayList<>();
    private float[] x = new float[0];
    private float[] logits = new float[0];
    /** One row of logits for a sampler (which may work in place). */
    private float[] row = new float[0];
    /** Ticks run, rows they carried, and the most jobs one tick held (for tests and benchmarks). */
    private volatile long ticks, rows, widest;

    StepScheduler(int maxSessions, int tokenBudget) {
        if (tokenBudget < 2 * MIN_CHUNK) throw new IllegalArgumentException("token budget must be >= " + 2 * MIN_CHUNK);
        this.tokenBudget = tokenBudget;
        this.inbox = new ArrayBlockingQueue<>(Math.max(1, maxSessions));
        this.thread = new Thread(this::loop, "splitllm-step-scheduler");
        thread.setDaemon(true);
        thread.start();
    }

    int tokenBudget() {
        return tokenBudget;
    }

    /** True when the segment can join a batch: a Java-engine segment that ends with the head (a cloud segment). */
    static boolean accepts(Segment segment) {
        return JavaBackend.stateOf(segment) != null && segment.hasHead();
    }

    /**
     * Runs the segment's blocks over {@code tokens} rows of hidden (in place) within the ticks,
     * and returns the token {@code sampler} draws from the last row's logits (sampled on the
     * scheduler's thread into a reused buffer: no logits array per step). Throws what the forward
     * or the sampler threw; the caller rolls the state and the sampler back.
     */
    int step(Segment segment, float[] hidden, int tokens, Sampler sampler) {
        return run(new Job(JavaBackend.transformerOf(segment), JavaBackend.stateOf(segment), hidden, tokens, sampler,
                Want.SAMPLE_LAST)).token;
    }

    /**
     * Runs the {@code tokens} rows of a DRAFT frame through the blocks within a tick, each row with
     * the one-token kernels, and returns the logits of every row (tokens x vocab).
     */
    float[] rowLogits(Segment segment, float[] hidden, int tokens) {
        if (tokens > tokenBudget) throw new IllegalArgumentException(tokens + " draft rows exceed the tick's budget " + tokenBudget);
        return run(new Job(JavaBackend.transformerOf(segment), JavaBackend.stateOf(segment), hidden, tokens, null,
                Want.ROW_LOGITS)).rowLogits;
    }

    /** Runs rows through the blocks within the ticks (as prefill chunks), for their KV only. */
    void forwardOnly(Segment segment, float[] hidden, int tokens) {
        run(new Job(JavaBackend.transformerOf(segment), JavaBackend.stateOf(segment), hidden, tokens, null, Want.FORWARD_ONLY));
    }

    private Job run(Job job) {
        if (stopped || !inbox.offer(job)) {
            throw new IllegalStateException(stopped ? "step scheduler stopped" : "step scheduler inbox full");
        }
        // Uninterruptible: the state is the scheduler's until it finishes the job, which it always
        // does while it runs; a job offered as it stopped is failed here.
        boolean interrupted = false;
        while (true) {
            try {
                if (job.finished.await(1, TimeUnit.SECONDS)) break;
                if (!thread.isAlive() && inbox.remove(job)) finish(job, new IllegalStateException("step scheduler stopped"));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        if (job.failure != null) throw job.failure;
        return job;
    }

    private void loop() {
        while (!stopped) {
            try {
                if (decodes.isEmpty() && prefills.isEmpty()) {
                    Job first = inbox.poll(100, TimeUnit.MILLISECONDS);
                    if (first == null) continue;
                    enqueue(first);
                }
                for (Job j; (j = inbox.poll()) != null; ) enqueue(j);
                gather();
                runTick();
            } catch (InterruptedException e) {
                break;
            } catch (Throwable t) {
                LOG.error("step scheduler tick failed", t); // the tick's jobs were already failed
            }
        }
        RuntimeException gone = new IllegalStateException("step scheduler stopped");
        for (Job j; (j = inbox.poll()) != null; ) finish(j, gone);
        for (Job j : decodes) finish(j, gone);
        for (Job j : prefills) finish(j, gone);
    }

    /**
     * The sessions of the last tick send their next frames a moment after their answers went
     * out; a tick that starts before they arrive would split the batch in two (two passes over
     * the weights). So while fewer jobs wait than the last tick carried, wait for them,
     * at most {@link #GATHER_NANOS}. A lone session never waits (its last tick carried one row).
     */
    private void gather() throws InterruptedException {
        long deadline = System.nanoTime() + GATHER_NANOS;
        while (decodes.size() + prefills.size() < lastTickJobs) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return;
            Job j = inbox.poll(left, TimeUnit.NANOSECONDS);
            if (j == null) return;
            enqueue(j);
        }
    }

    /** Longest a tick waits for the rest of the last tick's sessions. */
    static final long GATHER_NANOS = 1_000_000;
    private int lastTickJobs;

    private void enqueue(Job j) {
        (j.decode ? decodes : prefills).add(j);
    }

    /** Picks this tick's rows (see the class comment), runs them, answers the finished jobs. */
    private void runTick() {
        tick.clear();
        tickRows.clear();
        lastTickJobs = 0;
        // The oldest waiting job picks the weights (sessions may use different cloud weight formats).
        Job d = decodes.peek(), p = prefills.peek();
        Transformer tf = d != null && (p == null || d.arrival - p.arrival <= 0) ? d.tf : p.tf;
        int room = tokenBudget;
        // Decode rows, FIFO; a job for another weight format keeps its place and, once it is the
        // oldest, picks the weights of a tick of its own.
        for (java.util.Iterator<Job> it = decodes.iterator(); it.hasNext() && room > 0; ) {
            Job j = it.next();
            if (j.tf == tf) {
                if (j.tokens > room) break; // a draft that does not fit keeps its place (FIFO) for the next tick
                it.remove();
                tick.add(j);
                tickRows.add(j.tokens);
                room -= j.tokens;
            }
        }
        // Prefill chunks, oldest first; the oldest gets at least MIN_CHUNK rows even in a full tick.
        boolean firstPrefill = true;
        for (Job j : prefills) {
            if (j.tf != tf) continue;
            int rem = j.tokens - j.done;
            int r = firstPrefill ? Math.max(room, MIN_CHUNK) : room;
            if (r < MIN_CHUNK) break;
            int take = chunk(rem, r, j.state);
            tick.add(j);
            tickRows.add(take);
            room -= take;
            firstPrefill = false;
        }
        lastTickJobs = tick.size();
        try {
            compute(tf);
        } catch (RuntimeException | Error e) {
            RuntimeException f = e instanceof RuntimeException re ? re : new IllegalStateException(e);
            for (Job j : tick) {
                prefills.remove(j);
                finish(j, f);
            }
            throw e;
        }
    }

    /**
     * Rows of a prompt with {@code rem} rows left to take in a tick with {@code room} rows free:
     * every chunk and the tail are at least MIN_CHUNK rows (a short prompt goes whole).
     */
    static int chunk(int rem, int room, SegmentState state) {
        int cap = state.rows() < state.capacity() ? dev.splitllm.engine.model.SlidingWindow.MAX_BATCH : Integer.MAX_VALUE;
        int take = Math.min(rem, Math.min(room, cap));
        if (take < rem) {
            if (rem < 2 * MIN_CHUNK) return rem; // too short to split into two chunks of MIN_CHUNK
            take = Math.max(MIN_CHUNK, Math.min(take, rem - MIN_CHUNK));
        }
        return take;
    }

    private void compute(Transformer tf) {
        int n = tick.size();
        // forwardBatch wants the states sorted by first layer (stable: FIFO within a split).
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Integer.compare(tick.get(a).state.firstLayer(), tick.get(b).state.firstLayer()));
        int d = tf.config().dim(), vocab = tf.config().vocabSize();
        SegmentState[] states = new SegmentState[n];
        int[] counts = new int[n];
        boolean[] asSteps = new boolean[n];
        int rows = 0;
        for (int i = 0; i < n; i++) rows += tickRows.get(order[i]);
        if (x.length < rows * d) x = new float[rows * d];
        int at = 0;
        for (int i = 0; i < n; i++) {
            Job j = tick.get(order[i]);
            states[i] = j.state;
            counts[i] = tickRows.get(order[i]);
            asSteps[i] = j.want == Want.ROW_LOGITS;
            System.arraycopy(j.hidden, j.done * d, x, at * d, counts[i] * d);
            at += counts[i];
        }
        tf.forwardBatch(states, counts, asSteps, n, x, buffers);
        ticks++;
        this.rows += rows;
        if (n > widest) widest = n;
        // Copy rows back, collect the last row of every job that is now complete (every row of a
        // draft), and finish the jobs that want no logits.
        int[] lastRows = new int[rows];
        int[] rowOf = new int[rows];
        Job[] complete = new Job[rows];
        int m = 0;
        at = 0;
        for (int i = 0; i < n; i++) {
            Job j = tick.get(order[i]);
            System.arraycopy(x, at * d, j.hidden, j.done * d, counts[i] * d);
            j.done += counts[i];
            at += counts[i];
            if (j.done < j.tokens) continue;
            if (j.want == Want.FORWARD_ONLY) {
                prefills.remove(j);
                j.finished.countDown();
            } else if (j.want == Want.ROW_LOGITS) {
                for (int r = 0; r < j.tokens; r++) {
                    lastRows[m] = at - j.tokens + r;
                    rowOf[m] = r;
                    complete[m++] = j;
                }
            } else {
                lastRows[m] = at - 1;
                complete[m++] = j;
            }
        }
        if (m > 0) {
            if (logits.length < m * vocab) logits = new float[m * vocab];
            tf.logitsRows(x, lastRows, m, logits, buffers);
            if (row.length != vocab) row = new float[vocab];
            for (int i = 0; i < m; i++) {
                Job j = complete[i];
                if (j.want == Want.ROW_LOGITS) {
                    if (j.rowLogits == null) j.rowLogits = new float[j.tokens * vocab];
                    System.arraycopy(logits, i * vocab, j.rowLogits, rowOf[i] * vocab, vocab);
                    if (rowOf[i] == j.tokens - 1) j.finished.countDown(); // its rows are consecutive: the last ends it
                    continue;
                }
                if (!j.decode) prefills.remove(j);
                System.arraycopy(logits, i * vocab, row, 0, vocab);
                try {
                    j.token = j.sampler.sample(row);
                } catch (RuntimeException e) {
                    j.failure = e; // this session only
                }
                j.finished.countDown();
            }
        }
    }

    /** "ticks rows widest" so far. */
    long[] stats() {
        return new long[] {ticks, rows, widest};
    }

    private static void finish(Job j, RuntimeException failure) {
        j.failure = failure;
        j.finished.countDown();
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
