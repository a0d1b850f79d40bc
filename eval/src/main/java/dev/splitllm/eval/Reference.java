package dev.splitllm.eval;

/**
 * The unsplit fp32 model's greedy continuation of a prompt and its next-token logits
 * at every generated position: {@code logits[i*vocab + v]} scores token v for generated token i
 * (i = 0 is predicted from the prompt's last position). Generation stops after {@code n}
 * tokens or at EOS (included).
 */
public final class Reference {
    private final int[] prompt;
    private final int[] generated;
    private final float[] logits;
    private final int vocab;

    Reference(int[] prompt, int[] generated, float[] logits, int vocab) {
        this.prompt = prompt.clone();
        this.generated = generated.clone();
        this.logits = logits;
        this.vocab = vocab;
    }

    public int[] prompt() {
        return prompt.clone();
    }

    public int[] generated() {
        return generated.clone();
    }

    public int length() {
        return generated.length;
    }

    int promptLength() {
        return prompt.length;
    }

    int generatedAt(int i) {
        return generated[i];
    }

    float[] logits() {
        return logits;
    }

    int vocab() {
        return vocab;
    }

    /** prompt followed by every generated token but the last: the teacher-forced input. */
    int[] teacherInput() {
        int[] seq = new int[prompt.length + generated.length - 1];
        System.arraycopy(prompt, 0, seq, 0, prompt.length);
        System.arraycopy(generated, 0, seq, prompt.length, generated.length - 1);
        return seq;
    }
}
