package dev.splitllm.eval;

/**
 * What happens to the hidden state at the cut on its way from edge to cloud, for evaluation:
 * the activation codec ({@link CodecWire}) or a baseline's own activation format. One
 * {@link Session} per generation or text window, because a wire may keep per-session state
 * (the per-session outlier channel set is chosen from the prefill frame).
 */
public interface Wire {
    /** Short label for tables. */
    String name();

    /** A new session whose frames are counted in {@code tally}. */
    Session open(BitsTally tally);

    /** One edge-cloud session's frames. */
    interface Session {
        /**
         * Sends {@code tokens x dim} activations (row-major) as one frame and returns what the
         * cloud reconstructs; counts the frame's bits.
         *
         * @param prefill true for the prompt/window frame, false for a one-token decode frame
         */
        float[] transmit(float[] x, int tokens, int dim, boolean prefill);
    }
}
