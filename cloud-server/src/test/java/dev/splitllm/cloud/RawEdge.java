package dev.splitllm.cloud;

import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.Draft;
import dev.splitllm.quantization.wire.FrameHeader;
import dev.splitllm.quantization.wire.Phase;
import dev.splitllm.quantization.wire.SessionCodec;
import java.util.Arrays;

/**
 * The edge's half done by hand for server tests: a front segment on the engine and the session's
 * {@link SessionCodec}, producing the frames a real edge would send (no edge SDK here).
 */
final class RawEdge implements AutoCloseable {
    final Segment front;
    final SessionCodec codec;
    final long tag;
    final int split;
    private long step;
    /** What the last {@link #next} cost: the front blocks, and the encoding (ms). */
    double lastEdgeMs;
    double lastEncodeMs;

    RawEdge(ServerFixture fx, int split, int maxSeqLen, CodecSpec spec, long tag) {
        this.front = fx.front(split, maxSeqLen);
        this.codec = new SessionCodec(spec);
        this.tag = tag;
        this.split = split;
    }

    /** The hidden state of {@code input} after the front blocks, at the segment's next position. */
    float[] hidden(int[] input) {
        float[] h = front.embed(input);
        front.forward(h, input.length);
        return h;
    }

    /** Runs the front blocks on {@code input} and encodes the next step's frame. */
    byte[] next(int[] input) {
        int start = front.position();
        long t0 = System.nanoTime();
        float[] h = hidden(input);
        long t1 = System.nanoTime();
        FrameHeader header = new FrameHeader(tag, step, step == 0 ? Phase.PREFILL : Phase.DECODE, split, start, input.length,
                ServerFixture.config().dim(), codec.spec());
        step++;
        byte[] frame = codec.encodeFrame(header, h);
        lastEdgeMs = (t1 - t0) / 1e6;
        lastEncodeMs = (System.nanoTime() - t1) / 1e6;
        return frame;
    }

    /**
     * Runs the front blocks on each of {@code input} one token at a time (as a real edge drafts) and
     * encodes a DRAFT frame for {@code step} carrying {@code draft}; the step counter is not moved.
     */
    byte[] draft(long draftStep, int[] input, Draft draft) {
        int d = ServerFixture.config().dim();
        int start = front.position();
        float[] rows = new float[input.length * d];
        for (int t = 0; t < input.length; t++) {
            System.arraycopy(hidden(new int[] {input[t]}), 0, rows, t * d, d);
        }
        FrameHeader header = new FrameHeader(tag, draftStep, Phase.DRAFT, split, start, input.length, d, codec.spec());
        return codec.encodeDraftFrame(header, rows, draft);
    }

    /** Forgets front positions from {@code position} on (the rejected drafts) and sets the next step. */
    void rollback(int position, long nextStep) {
        front.truncate(position);
        step = nextStep;
    }

    /**
     * A whole split generation over a raw WebSocket: creates a session, sends the prompt and then
     * one frame per token, and returns the tokens the server sampled (stops at EOS or n tokens).
     */
    static int[] generate(ServerFixture fx, int split, String codec, String prompt, int n, String sampling) throws Exception {
        int maxSeqLen = 128;
        ServerFixture.Reply created = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, "{\"splitLayer\":" + split
                + ",\"codec\":\"" + codec + "\",\"cloudWeights\":\"f32\",\"maxSeqLen\":" + maxSeqLen + "," + sampling + "}");
        if (created.status() != 201) throw new AssertionError("session refused: " + created.body());
        String id = created.body().path("sessionId").asText();
        int[] out = new int[n];
        int count = 0;
        try (RawEdge edge = new RawEdge(fx, split, maxSeqLen, CodecSpec.parse(codec), created.body().path("frameSession").asLong());
             RawStream ws = new RawStream(ServerFixture.HTTP, fx.wsUrl(created.body().path("streamPath").asText()), ServerFixture.TOKEN)) {
            int[] input = ServerFixture.tokenizer().encode(prompt, true);
            while (count < n) {
                ws.send(edge.next(input));
                JsonNode m = ServerFixture.JSON.readTree(ws.next());
                if (!"token".equals(m.path("type").asText())) throw new AssertionError("step " + count + ": " + m);
                int token = m.path("token").asInt();
                out[count++] = token;
                if (token == ServerFixture.tokenizer().eos()) break;
                input = new int[] {token};
            }
        } finally {
            fx.call("DELETE", "/v1/sessions/" + id, ServerFixture.TOKEN, null);
        }
        return Arrays.copyOf(out, count);
    }

    @Override
    public void close() {
        front.close();
    }
}
