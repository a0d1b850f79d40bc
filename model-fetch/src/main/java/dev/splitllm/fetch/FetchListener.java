package dev.splitllm.fetch;

/**
 * Receives progress from {@link ModelFetcher}: for each {@link FetchStep}, one
 * {@link #started}, any number of {@link #progress} calls with the running byte count, and one
 * {@link #finished} (not called when the step fails). Calls come from the fetching thread.
 */
public interface FetchListener {

    /** A listener that ignores everything. */
    FetchListener NONE = new FetchListener() {
        @Override
        public void started(FetchStep step, long totalBytes) {}

        @Override
        public void progress(FetchStep step, long doneBytes) {}

        @Override
        public void finished(FetchStep step) {}
    };

    /** The step begins; {@code totalBytes} is -1 when not known in advance. */
    void started(FetchStep step, long totalBytes);

    /** Bytes processed so far in this step. */
    void progress(FetchStep step, long doneBytes);

    /** The step completed. */
    void finished(FetchStep step);

    /** A one-line note for the user (e.g. "using the cached model"); ignored by default. */
    default void note(String message) {}
}
