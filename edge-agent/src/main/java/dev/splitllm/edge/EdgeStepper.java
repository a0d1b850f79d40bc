package dev.splitllm.edge;

import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.FrameHeader;
import dev.splitllm.quantization.wire.Phase;
import dev.splitllm.quantization.wire.SessionCodec;

/**
 * The edge's half of a session without any network, the counterpart of the cloud's step rule:
 * embeds the step's input, runs blocks [0, split) with the edge KV cache, and encodes the hidden
 * state at the cut into the step's frame. Step 0 is the prefill of the whole prompt at position 0;
 * every later step is one decode token at the next position. It also holds the edge's stop rule
 * (EOS, max tokens, context). Not thread-safe: one generation thread drives it.
 */
final class EdgeStepper implements AutoCloseable {
    private final EdgeModel model;
    private final int maxSeqLen;
    private final long frameTag;
    private final Segment segment;
    /** The session's codec and its outlier-channel state (chosen from the prefill frame). */
    private final SessionCodec codec;
    private long nextStep;

    /** One encoded step: the frame to send and what producing it cost. */
    record Step(long step, int tokens, byte[] frame, double edgeMs, double encodeMs) {
    }

    /**
     * @param frameTag the 64-bit session tag every frame carries (from the server's SessionCreated)
     */
    EdgeStepper(EdgeModel model, CodecSpec codec, int maxSeqLen, long frameTag) {
        if (maxSeqLen < 2) {
            throw new IllegalArgumentException("maxSeqLen must be >= 2, got " + maxSeqLen);
        }
        this.model = model;
        this.maxSeqLen = maxSeqLen;
        this.frameTag = frameTag;
        this.codec = new SessionCodec(codec);
        this.segment = model.backend().open(0, model.splitLayer(), maxSeqLen);
    }

    /** Throws unless {@code promptIds} can be prefilled and still leave room for a generated token. */
    void checkPrompt(int[] promptIds) {
        if (promptIds.length < 1) {
            throw new IllegalArgumentException("the prompt encodes to no tokens");
        }
        if (promptIds.length >= maxSeqLen) {
            throw new IllegalArgumentException("prompt is " + promptIds.length + " tokens; the session holds "
                    + maxSeqLen + " positions");
        }
    }

    /** Step 0: the hidden states of the whole prompt after the edge's blocks, as one PREFILL frame. */
    Step prefill(int[] promptIds) {
        if (nextStep != 0) {
            throw new IllegalStateException("the prefill is step 0; this stepper is at step " + nextStep);
        }
        checkPrompt(promptIds);
        return run(promptIds, Phase.PREFILL);
    }

    /** The next DECODE step: {@code token} (the last one the cloud sampled) at the next position. */
    Step decode(int token) {
        if (nextStep == 0) {
            throw new IllegalStateException("decode steps follow the prefill");
        }
        if (!hasRoom()) {
            throw new IllegalStateException("the context is full (" + maxSeqLen + " positions)");
        }
        return run(new int[] {token}, Phase.DECODE);
    }

    private Step run(int[] input, Phase phase) {
        long t0 = System.nanoTime();
        float[] hidden = segment.embed(input);
        int start = segment.position();
        segment.forward(hidden, input.length);
        long t1 = System.nanoTime();
        FrameHeader header = new FrameHeader(frameTag, nextStep, phase, model.splitLayer(), start, input.length,
                model.config().dim(), codec.spec());
        byte[] frame = codec.encodeFrame(header, hidden);
        long t2 = System.nanoTime();
        return new Step(nextStep++, input.length, frame, (t1 - t0) / 1e6, (t2 - t1) / 1e6);
    }

    /** True while one more decode position fits in the context. */
    boolean hasRoom() {
        return segment.position() + 1 <= maxSeqLen;
    }

    /**
     * The edge's stop rule after {@code token} arrived as the {@code generated}-th token: "eos"
     * (the model's end of sequence: EOS, or a generated BOS, which is how llama2.c models end a
     * story, as run.c stops; not when {@code ignoreEndOfSequence}), "max_tokens", "context_full",
     * or null to go on.
     */
    String stopReason(int token, int generated, int maxTokens, boolean ignoreEndOfSequence) {
        if (!ignoreEndOfSequence && (token == model.tokenizer().eos() || token == model.tokenizer().bos())) {
            return "eos";
        }
        if (generated >= maxTokens) {
            return "max_tokens";
        }
        if (!hasRoom()) {
            return "context_full";
        }
        return null;
    }

    /** The step the next frame will carry. */
    long nextStep() {
        return nextStep;
    }

    int position() {
        return segment.position();
    }

    /** The session's codec state (its outlier channels, once the prefill chose them). */
    SessionCodec codec() {
        return codec;
    }

    /** Bytes of the edge KV cache: blocks [0, split) for maxSeqLen positions, allocated up front. */
    long kvBytes() {
        return MemoryAccount.kvCacheBytes(model.config(), model.splitLayer(), maxSeqLen);
    }

    @Override
    public void close() {
        segment.close();
    }
}
