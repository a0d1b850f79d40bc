package dev.splitllm.cloud;

import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.quantization.codec.CodecSpec;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A split session that keeps generating in the background, as a real edge would: the front
 * blocks and the codec here, the frames over a real WebSocket, one step every {@code pauseMs}
 * until closed or the context is full.
 */
final class LiveSession implements AutoCloseable {
    static final int MAX_SEQ_LEN = 256;
    final String id;
    final AtomicInteger tokens = new AtomicInteger();
    private final ServerFixture fx;
    private final Thread thread;
    private volatile boolean stop;
    volatile Throwable failure;

    LiveSession(ServerFixture fx, int split, String codec, long pauseMs) throws Exception {
        this(fx, split, codec, pauseMs, -1);
    }

    /**
     * @param timingsFrom from this step on, the edge sends a timing message after each token, as
     *                    the edge SDK does (-1: never, as an older edge)
     */
    LiveSession(ServerFixture fx, int split, String codec, long pauseMs, long timingsFrom) throws Exception {
        this.fx = fx;
        ServerFixture.Reply created = fx.call("POST", "/v1/sessions", ServerFixture.TOKEN, "{\"splitLayer\":" + split
                + ",\"codec\":\"" + codec + "\",\"cloudWeights\":\"f32\",\"maxSeqLen\":" + MAX_SEQ_LEN
                + ",\"temperature\":0,\"topP\":1,\"seed\":1}");
        if (created.status() != 201) throw new AssertionError("session refused: " + created.body());
        id = created.body().path("sessionId").asText();
        long tag = created.body().path("frameSession").asLong();
        String url = fx.wsUrl(created.body().path("streamPath").asText());
        thread = new Thread(() -> {
            try (RawEdge edge = new RawEdge(fx, split, MAX_SEQ_LEN, CodecSpec.parse(codec), tag);
                 RawStream ws = new RawStream(ServerFixture.HTTP, url, ServerFixture.TOKEN)) {
                int[] input = ServerFixture.tokenizer().encode("Once upon a time", true);
                int position = 0;
                while (!stop && position + input.length <= MAX_SEQ_LEN) {
                    byte[] frame = edge.next(input);
                    long sent = System.nanoTime();
                    ws.send(frame);
                    position += input.length;
                    JsonNode m = ServerFixture.JSON.readTree(ws.next());
                    double roundTripMs = (System.nanoTime() - sent) / 1e6;
                    if (!"token".equals(m.path("type").asText())) throw new AssertionError("step " + tokens.get() + ": " + m);
                    long step = m.path("step").asLong();
                    if (timingsFrom >= 0 && step >= timingsFrom) {
                        ws.ws.send(ServerFixture.JSON.createObjectNode().put("type", "timing").put("step", step)
                                .put("edgeMs", edge.lastEdgeMs).put("encodeMs", edge.lastEncodeMs).put("roundTripMs", roundTripMs)
                                .toString());
                    }
                    tokens.incrementAndGet();
                    input = new int[] {m.path("token").asInt()};
                    Thread.sleep(pauseMs);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Throwable t) {
                failure = t;
            }
        }, "live-session");
        thread.setDaemon(true);
        thread.start();
    }

    /** Waits until at least {@code n} tokens came back (or the thread failed). */
    void awaitTokens(int n, long timeoutMs) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (tokens.get() < n && failure == null && System.currentTimeMillis() < end) Thread.sleep(20);
        if (failure != null) throw new AssertionError("the session failed", failure);
        if (tokens.get() < n) throw new AssertionError("only " + tokens.get() + " of " + n + " tokens in " + timeoutMs + " ms");
    }

    @Override
    public void close() throws Exception {
        stop = true;
        thread.join(30_000);
        fx.call("DELETE", "/v1/sessions/" + id, ServerFixture.TOKEN, null);
    }
}
