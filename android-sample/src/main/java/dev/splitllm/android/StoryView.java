package dev.splitllm.android;

/**
 * What a {@link StoryRun} reports, in order: {@code started} once the model is ready, {@code token}
 * per generated token, then exactly one of {@code finished} or {@code failed}. Calls come on the
 * worker thread; implementations hand them to the UI thread.
 */
public interface StoryView {

    /** The edge model is loaded; {@code kernels} says which kernels run it, and why. */
    void started(String kernels);

    /** One more piece of the story, with the running stats line. */
    void token(String piece, String stats);

    /** The generation ended normally. */
    void finished(String summary);

    /** The generation failed; {@code message} is for people. */
    void failed(String message);
}
