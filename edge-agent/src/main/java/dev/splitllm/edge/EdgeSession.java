package dev.splitllm.edge;

import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.tokenizer.TextStream;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.codec.OutlierChannels;
import dev.splitllm.quantization.protocol.ErrorMessage;
import dev.splitllm.quantization.protocol.SessionCreated;
import dev.splitllm.quantization.protocol.SessionRequest;
import dev.splitllm.quantization.protocol.TokenMessage;
import dev.splitllm.quantization.wire.FrameCodec;
import dev.splitllm.quantization.wire.FrameHeader;
import dev.splitllm.quantization.wire.Phase;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * One generation stream split between this device and a cloud server: the SDK's entry point.
 *
 * <pre>{@code
 * try (EdgeModel model = EdgeModel.load(checkpoint, tokenizer, 3, 2);
 *      EdgeSession session = EdgeSession.open(model, EdgeOptions.defaults(server, token))) {
 *     GenerationResult r = session.generate("Once upon a time", 64, (id, text, stats) -> System.out.print(text));
 * }
 * }</pre>
 *
 * <p>The edge embeds and runs blocks [0, split) with its own KV cache, encodes the hidden state
 * of each step into a frame and sends it up the session's WebSocket; the cloud answers each
 * step with the sampled token. The frame of the step in flight is kept until its token
 * arrives: if the link drops, the edge reconnects and resends it, and the server's step
 * numbering makes the resend harmless. One session runs one generation.
 */
public final class EdgeSession implements AutoCloseable {
    private static final MediaType JSON = MediaType.get("application/json");

    private final EdgeModel model;
    private final EdgeOptions options;
    private final OkHttpClient http;
    private final SessionCreated created;
    private final Segment segment;
    /** Frame encoder with its scratch buffers. */
    private final FrameCodec frames = new FrameCodec();
    /** Session outlier channels (session-channel codec mode), chosen from the prompt. */
    private OutlierChannels channels;
    private StreamConnection connection;
    private boolean used;
    private boolean closed;

    private EdgeSession(EdgeModel model, EdgeOptions options, OkHttpClient http, SessionCreated created) {
        this.model = model;
        this.options = options;
        this.http = http;
        this.created = created;
        this.segment = model.backend().open(0, model.splitLayer(), options.maxSeqLen());
    }

    /** Creates the cloud half of a session ({@code POST /v1/sessions}). */
    public static EdgeSession open(EdgeModel model, EdgeOptions options) {
        OkHttpClient http = new OkHttpClient.Builder()
                .connectTimeout(10, TimeUnit.SECONDS)
                .readTimeout(options.stepTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .build();
        SessionRequest req = new SessionRequest(model.splitLayer(), options.codec().toString(), options.cloudWeights(),
                options.maxSeqLen(), options.temperature(), options.topP(), options.seed());
        SessionCreated created = ProtocolJson.sessionCreated(post(http, options, "/v1/sessions", req));
        try {
            if (created.dim() != model.config().dim() || created.splitLayer() != model.splitLayer()) {
                throw new EdgeException("protocol", "server model (d=" + created.dim() + ") or split (" + created.splitLayer()
                        + ") does not match the edge's (d=" + model.config().dim() + ", split " + model.splitLayer() + ")");
            }
            checkStreamPath(created);
            return new EdgeSession(model, options, http, created);
        } catch (RuntimeException e) {
            // Do not leave the cloud half holding a slot and KV memory until it expires.
            delete(http, options, created.sessionId());
            http.dispatcher().executorService().shutdown();
            throw e;
        }
    }

    public String sessionId() {
        return created.sessionId();
    }

    /** Bytes this device holds for the session: front-segment weights plus its KV cache. */
    public long residentBytes() {
        return model.weightBytes() + segment.kvBytes();
    }

    /**
     * Generates up to {@code maxTokens} tokens after {@code prompt}, calling {@code listener} for
     * each as it arrives. Stops at EOS, at maxTokens, or when the context is full.
     */
    public GenerationResult generate(String prompt, int maxTokens, TokenListener listener) {
        if (closed) throw new IllegalStateException("session is closed");
        if (used) throw new IllegalStateException("a session runs one generation; open another for a new prompt");
        if (maxTokens < 1) throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        used = true;
        Tokenizer tok = model.tokenizer();
        int[] promptIds = tok.encode(prompt, true);
        if (promptIds.length >= options.maxSeqLen()) {
            throw new IllegalArgumentException("prompt is " + promptIds.length + " tokens; the session holds "
                    + options.maxSeqLen() + " positions");
        }
        long wall0 = System.nanoTime();
        TextStream text = new TextStream(tok, promptIds[promptIds.length - 1]);
        StringBuilder story = new StringBuilder();
        List<StepStats> steps = new ArrayList<>();
        int[] generated = new int[maxTokens];
        int count = 0;
        int[] input = promptIds;
        String stop = "max_tokens";
        for (long step = 0; ; step++) {
            long t0 = System.nanoTime();
            float[] hidden = segment.embed(input);
            int start = segment.position();
            segment.forward(hidden, input.length);
            long t1 = System.nanoTime();
            FrameHeader header = new FrameHeader(created.frameSession(), step, step == 0 ? Phase.PREFILL : Phase.DECODE,
                    model.splitLayer(), start, input.length, model.config().dim(), options.codec());
            byte[] frame;
            if (options.codec().sessionChannels()) {
                boolean announce = step == 0;
                if (announce) {
                    channels = OutlierChannels.select(hidden, input.length, model.config().dim(), options.codec().tau());
                }
                frame = frames.encode(header, hidden, channels, announce);
            } else {
                frame = frames.encode(header, hidden);
            }
            long t2 = System.nanoTime();
            if (frame.length > created.maxFrameBytes()) {
                throw new EdgeException("too_large", "step " + step + " frame is " + frame.length + " bytes; the server accepts "
                        + created.maxFrameBytes() + " (shorten the prompt or use a smaller codec)");
            }
            Exchange ex = exchange(frame, step);
            long t3 = System.nanoTime();
            StepStats stats = new StepStats(step, input.length, (t1 - t0) / 1e6, (t2 - t1) / 1e6, frame.length,
                    (t3 - t2) / 1e6, ex.answer.cloudMs(), ex.reconnects);
            steps.add(stats);
            int token = ex.answer.token();
            generated[count++] = token;
            String piece = text.next(token);
            story.append(piece);
            listener.onToken(token, piece, stats);
            if (token == tok.eos()) {
                stop = "eos";
                break;
            }
            if (count == maxTokens) {
                break;
            }
            if (segment.position() + 1 > options.maxSeqLen()) {
                stop = "context_full";
                break;
            }
            input = new int[] {token};
        }
        story.append(text.flush());
        return new GenerationResult(promptIds, Arrays.copyOf(generated, count), story.toString(), List.copyOf(steps),
                (System.nanoTime() - wall0) / 1e6, stop);
    }

    private record Exchange(TokenMessage answer, int reconnects) {
    }

    /** Sends the frame of {@code step} and waits for its token, reconnecting and resending on link loss. */
    private Exchange exchange(byte[] frame, long step) {
        int reconnects = 0;
        String lastProblem = null;
        while (true) {
            try {
                if (connection == null) {
                    connection = new StreamConnection(http, wsUrl(), options.token());
                }
                if (!connection.send(frame)) {
                    throw new LinkLost("socket is closing");
                }
                TokenMessage answer = awaitAnswer(step);
                return new Exchange(answer, reconnects);
            } catch (LinkLost e) {
                lastProblem = e.getMessage();
                discardConnection();
                if (reconnects++ >= options.maxReconnects()) {
                    throw new EdgeException("link", "lost the connection to the cloud at step " + step + " after "
                            + options.maxReconnects() + " reconnects: " + lastProblem);
                }
                sleepBackoff(reconnects);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EdgeException("interrupted", "interrupted while waiting for step " + step);
            }
        }
    }

    private TokenMessage awaitAnswer(long step) throws InterruptedException {
        long deadline = System.nanoTime() + options.stepTimeout().toNanos();
        while (true) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new LinkLost("no answer within " + options.stepTimeout().toMillis() + " ms");
            }
            StreamConnection.Event ev = connection.poll(left);
            if (ev == null) continue;
            if (ev.ended()) {
                if (ev.httpStatus() == 401 || ev.httpStatus() == 403) {
                    throw new EdgeException("unauthorized", "the cloud refused the token for session " + created.sessionId());
                }
                if (ev.httpStatus() == 404) {
                    throw new EdgeException("not_found", "the cloud no longer knows session " + created.sessionId()
                            + " (closed or expired after being idle)");
                }
                throw new LinkLost(ev.why());
            }
            JsonNode node;
            try {
                node = ProtocolJson.parse(ev.text());
            } catch (IOException e) {
                throw new EdgeException("protocol", "unreadable message from the server: " + ev.text());
            }
            String type = node.path("type").asText();
            if (TokenMessage.TYPE.equals(type)) {
                TokenMessage msg = ProtocolJson.token(node);
                if (msg.step() == step) return msg;
                continue; // an answer to an earlier resend: already handled
            }
            if (ErrorMessage.TYPE.equals(type)) {
                ErrorMessage err = ProtocolJson.error(node);
                throw new EdgeException(err.code(), "cloud refused step " + step + ": " + err.message());
            }
            throw new EdgeException("protocol", "unexpected message from the server: " + ev.text());
        }
    }

    /**
     * Kills the live socket without a close handshake, as a lost link would; the session notices
     * on its next send or wait (tests use it to simulate link loss).
     */
    void dropConnection() {
        if (connection != null) {
            connection.cancel();
        }
    }

    private void discardConnection() {
        if (connection != null) {
            connection.cancel();
            connection = null;
        }
    }

    private static void sleepBackoff(int attempt) {
        try {
            Thread.sleep(Math.min(2000, 50L << Math.min(attempt, 5)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String wsUrl() {
        String base = options.server().toString().replaceFirst("^http", "ws");
        if (base.endsWith("/")) base = base.substring(0, base.length() - 1);
        return base + created.streamPath();
    }

    /** Closes the stream and the cloud session ({@code DELETE /v1/sessions/{id}}). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (connection != null) {
            connection.close();
            connection = null;
        }
        segment.close();
        delete(http, options, created.sessionId());
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    /** {@code DELETE /v1/sessions/{id}}, best effort: a 404 (already expired) or an unreachable server is fine. */
    private static void delete(OkHttpClient http, EdgeOptions options, String sessionId) {
        Request req = new Request.Builder().url(url(options, "/v1/sessions/" + sessionId))
                .header("Authorization", "Bearer " + options.token()).delete().build();
        try (Response ignored = http.newCall(req).execute()) {
            // 204, or 404 if it already expired: either way it is gone
        } catch (IOException e) {
            // the server will expire it
        }
    }

    /** The stream path comes from the server: accept only our own path shape, never another host. */
    private static void checkStreamPath(SessionCreated created) {
        String id = created.sessionId();
        String p = created.streamPath();
        if (id == null || !id.matches("[0-9a-f]{32}") || !("/v1/sessions/" + id + "/stream").equals(p)) {
            throw new EdgeException("protocol", "unexpected session id or stream path from the server: " + id + ", " + p);
        }
    }

    private static JsonNode post(OkHttpClient http, EdgeOptions options, String path, SessionRequest body) {
        try {
            Request req = new Request.Builder().url(url(options, path))
                    .header("Authorization", "Bearer " + options.token())
                    .post(RequestBody.create(ProtocolJson.write(body), JSON)).build();
            try (Response resp = http.newCall(req).execute()) {
                String text = resp.body().string();
                if (!resp.isSuccessful()) {
                    String code = "http_" + resp.code(), message = text;
                    try {
                        ErrorMessage err = ProtocolJson.error(ProtocolJson.parse(text));
                        if (err.code() != null) {
                            code = err.code();
                            message = err.message();
                        }
                    } catch (IOException ignored) {
                        // not our JSON error body; show it raw
                    }
                    throw new EdgeException(code, "server refused " + path + " (HTTP " + resp.code() + "): " + message);
                }
                return ProtocolJson.parse(text);
            }
        } catch (IOException e) {
            throw new EdgeException("link", "cannot reach " + options.server() + ": " + e.getMessage(), e);
        }
    }

    private static String url(EdgeOptions options, String path) {
        String base = options.server().toString();
        return (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path;
    }

    /** The link failed in a way a reconnect may cure. */
    private static final class LinkLost extends RuntimeException {
        LinkLost(String message) {
            super(message);
        }
    }
}
