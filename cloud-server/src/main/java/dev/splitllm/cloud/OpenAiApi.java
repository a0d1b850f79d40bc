package dev.splitllm.cloud;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.TextStream;
import dev.splitllm.engine.tokenizer.Tokenizer;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible endpoint for cloud-only clients (no edge half): {@code GET /v1/models},
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}, with and without
 * {@code stream: true} (server-sent events ending in {@code data: [DONE]}). Same bearer tokens
 * as the rest of the server; errors in OpenAI's shape, {@code {"error":{"message","type","code"}}}.
 *
 * <p>{@code POST /v1/completions} is shared with the server's own plain completion call: a body
 * that names a {@code model} is an OpenAI request, any other body goes to the plain handler.
 */
final class OpenAiApi {
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiApi.class);
    /** The one model a server serves is listed under this id. */
    static final String MODEL_ID = "splitllm";
    static final int MAX_STOPS = 4;
    static final int MAX_STOP_CHARS = 64;
    static final int MAX_MESSAGES = 256;
    /** OpenAI's default for {@code max_tokens} on legacy completions. */
    static final int DEFAULT_COMPLETION_TOKENS = 16;

    private static final Set<String> COMMON = Set.of("model", "max_tokens", "temperature", "top_p", "seed", "stop", "stream",
            "stream_options", "n", "user", "presence_penalty", "frequency_penalty");
    private static final Set<String> COMPLETION_ONLY = Set.of("prompt", "echo", "best_of");
    private static final Set<String> CHAT_ONLY = Set.of("messages", "max_completion_tokens");

    private final ModelHost host;
    private final SessionRegistry registry;
    private final Auth auth;
    private final Metrics metrics;
    private final int maxSeqLen;
    private final ChatPrompt chatPrompt;
    private final long created = System.currentTimeMillis() / 1000;
    private final SecureRandom random = new SecureRandom();
    private final ObjectMapper json = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    /** Only to tell an OpenAI body from a plain one; the strict parse then reports what is wrong with it. */
    private final ObjectMapper lenient = new ObjectMapper();

    OpenAiApi(ServerConfig config, ModelHost host, SessionRegistry registry, Auth auth, Metrics metrics, ChatPrompt chatPrompt) {
        this.host = host;
        this.registry = registry;
        this.auth = auth;
        this.metrics = metrics;
        this.maxSeqLen = Math.min(host.config().seqLen(), config.maxSeqLen());
        this.chatPrompt = chatPrompt;
    }

    /** Registers the routes; {@code plainCompletion} serves {@code POST /v1/completions} bodies without a model. */
    void register(RoutesConfig routes, Handler plainCompletion) {
        routes.get("/v1/models", ctx -> guarded(ctx, this::listModels));
        routes.get("/v1/models/{id}", ctx -> guarded(ctx, this::oneModel));
        routes.post("/v1/chat/completions", ctx -> guarded(ctx, c -> generate(c, true)));
        routes.post("/v1/completions", ctx -> {
            if (namesModel(ctx)) {
                guarded(ctx, c -> generate(c, false));
            } else {
                plainCompletion.handle(ctx);
            }
        });
    }

    // ---- routes -------------------------------------------------------------------------------

    private void listModels(Context ctx) throws JsonProcessingException {
        auth.authenticate(ctx.header("Authorization"));
        ObjectNode body = json.createObjectNode().put("object", "list");
        body.putArray("data").add(modelObject());
        send(ctx, body);
    }

    private void oneModel(Context ctx) throws JsonProcessingException {
        auth.authenticate(ctx.header("Authorization"));
        String id = ctx.pathParam("id");
        if (!MODEL_ID.equals(id)) {
            throw new ApiException(404, "model_not_found", "model '" + id + "' is not served here; GET /v1/models lists '" + MODEL_ID + "'");
        }
        send(ctx, modelObject());
    }

    private ObjectNode modelObject() {
        LlamaConfig c = host.config();
        ObjectNode m = json.createObjectNode().put("id", MODEL_ID).put("object", "model").put("created", created).put("owned_by", "splitllm");
        m.putObject("shape").put("dim", c.dim()).put("layers", c.nLayers()).put("vocab", c.vocabSize()).put("context", maxSeqLen);
        return m;
    }

    /** What one request asks for, validated. */
    private record Job(boolean chat, int[] prompt, int maxTokens, float temperature, float topP, long seed, List<String> stops,
                       boolean stream, boolean includeUsage) {}

    private void generate(Context ctx, boolean chat) throws IOException {
        byte[] caller = auth.authenticate(ctx.header("Authorization"));
        Job job = parseJob(body(ctx), chat);
        metrics.completions.increment();
        String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(random.generateSeed(12));
        int positions = job.prompt().length + job.maxTokens();
        long kv = MemoryAccount.kvCacheBytes(host.config(), host.config().nLayers(), positions);
        registry.reserveKv(kv, "this completion", caller); // the same KV budget and per-token quota as sessions
        try (Segment seg = host.nativeBackend().open(positions)) {
            if (job.stream()) {
                stream(ctx, job, id, seg);
            } else {
                StringBuilder text = new StringBuilder();
                Outcome o = run(job, seg, text::append);
                send(ctx, whole(job, id, text.toString(), o));
            }
        } finally {
            registry.releaseKv(kv, caller);
        }
    }

    private ObjectNode whole(Job job, String id, String text, Outcome o) {
        ObjectNode body = json.createObjectNode().put("id", id).put("object", job.chat() ? "chat.completion" : "text_completion")
                .put("created", System.currentTimeMillis() / 1000).put("model", MODEL_ID);
        ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
        if (job.chat()) {
            choice.putObject("message").put("role", "assistant").put("content", text);
        } else {
            choice.put("text", text);
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", o.finishReason());
        body.set("usage", usage(job, o));
        return body;
    }

    private ObjectNode usage(Job job, Outcome o) {
        return json.createObjectNode().put("prompt_tokens", job.prompt().length).put("completion_tokens", o.tokens())
                .put("total_tokens", job.prompt().length + o.tokens());
    }

    /** Server-sent events: one chunk per piece of text, a last chunk with the finish reason, usage if asked, [DONE]. */
    private void stream(Context ctx, Job job, String id, Segment seg) throws IOException {
        ctx.status(200);
        ctx.contentType("text/event-stream; charset=utf-8");
        ctx.header("Cache-Control", "no-cache");
        OutputStream os = ctx.res().getOutputStream();
        long now = System.currentTimeMillis() / 1000;
        String object = job.chat() ? "chat.completion.chunk" : "text_completion";
        try {
            if (job.chat()) {
                event(os, chunk(id, object, now, job, "", null, true));
            }
            Outcome o = run(job, seg, piece -> event(os, chunk(id, object, now, job, piece, null, false)));
            event(os, chunk(id, object, now, job, null, o.finishReason(), false));
            if (job.includeUsage()) {
                ObjectNode u = json.createObjectNode().put("id", id).put("object", object).put("created", now).put("model", MODEL_ID);
                u.putArray("choices");
                u.set("usage", usage(job, o));
                event(os, u);
            }
            os.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            os.flush();
        } catch (UncheckedIOException e) {
            LOG.debug("stream {} ended by the client: {}", id, e.getCause().toString());
        } catch (RuntimeException e) {
            // Headers are sent: the error can only travel as an event.
            LOG.error("stream {} failed", id, e);
            metrics.error("internal");
            ObjectNode err = json.createObjectNode();
            err.putObject("error").put("message", "internal error: " + e.getClass().getSimpleName()).put("type", "server_error")
                    .put("code", "internal");
            try {
                event(os, err);
            } catch (UncheckedIOException ignored) {
                // the client is gone too
            }
        }
    }

    private ObjectNode chunk(String id, String object, long now, Job job, String text, String finish, boolean roleOnly) {
        ObjectNode c = json.createObjectNode().put("id", id).put("object", object).put("created", now).put("model", MODEL_ID);
        ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
        if (job.chat()) {
            ObjectNode delta = choice.putObject("delta");
            if (roleOnly) delta.put("role", "assistant");
            if (text != null) delta.put("content", text);
        } else {
            choice.put("text", text == null ? "" : text);
            choice.putNull("logprobs");
        }
        if (finish == null) choice.putNull("finish_reason");
        else choice.put("finish_reason", finish);
        return c;
    }

    private void event(OutputStream os, JsonNode node) {
        try {
            os.write(("data: " + json.writeValueAsString(node) + "\n\n").getBytes(StandardCharsets.UTF_8));
            os.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- generation ---------------------------------------------------------------------------

    /** How a generation ended: tokens produced and OpenAI's finish reason ("stop" or "length"). */
    record Outcome(int tokens, String finishReason) {}

    /**
     * The prompt as one batched forward, then one token at a time, handing each piece of text to
     * {@code onText} as soon as no stop string can still begin in it. Written out here rather
     * than through {@code Generation.generate} because streaming needs every token as it comes
     * and stop strings need the text. Ends at EOS or BOS (llama2.c checkpoints end a story with
     * BOS, as run.c does), a stop string, or {@code maxTokens}.
     */
    Outcome run(Job job, Segment seg, Consumer<String> onText) {
        Tokenizer tok = host.tokenizer();
        int[] prompt = job.prompt();
        Sampler sampler = new Sampler(job.temperature(), job.topP(), job.seed());
        float[] x = seg.embed(prompt);
        seg.forward(x, prompt.length);
        float[] logits = seg.lastLogits(x, prompt.length);
        TextStream text = new TextStream(tok, prompt[prompt.length - 1]);
        StopFilter filter = new StopFilter(job.stops());
        int n = 0;
        String finish = "length";
        while (n < job.maxTokens()) {
            int next = sampler.sample(logits);
            if (next == tok.eos() || next == tok.bos() || chatPrompt.endsTurn(next)) {
                finish = "stop";
                break;
            }
            n++;
            String piece = filter.push(text.next(next));
            if (!piece.isEmpty()) onText.accept(piece);
            if (filter.stopped()) {
                finish = "stop";
                break;
            }
            if (n == job.maxTokens()) break;
            x = seg.embed(new int[] {next});
            seg.forward(x, 1);
            logits = seg.lastLogits(x, 1);
        }
        if (!filter.stopped()) {
            String rest = filter.finish(text.flush());
            if (!rest.isEmpty()) onText.accept(rest);
            if (filter.stopped()) finish = "stop";
        }
        return new Outcome(n, finish);
    }

    /**
     * Cuts the text at the first stop string. Holds back the longest tail that could still
     * become a stop string, so a streamed piece never has to be taken back.
     */
    static final class StopFilter {
        private final List<String> stops;
        private final StringBuilder pending = new StringBuilder();
        private boolean stopped;

        StopFilter(List<String> stops) {
            this.stops = stops;
        }

        boolean stopped() {
            return stopped;
        }

        /** The text that is now safe to emit. */
        String push(String text) {
            if (stopped) return "";
            pending.append(text);
            int cut = -1;
            for (String s : stops) {
                int i = pending.indexOf(s);
                if (i >= 0 && (cut < 0 || i < cut)) cut = i;
            }
            if (cut >= 0) {
                stopped = true;
                String out = pending.substring(0, cut);
                pending.setLength(0);
                return out;
            }
            int hold = 0;
            String p = pending.toString();
            for (String s : stops) {
                for (int k = Math.min(s.length() - 1, p.length()); k > hold; k--) {
                    if (p.regionMatches(p.length() - k, s, 0, k)) {
                        hold = k;
                        break;
                    }
                }
            }
            String out = pending.substring(0, pending.length() - hold);
            pending.delete(0, pending.length() - hold);
            return out;
        }

        /** The rest at the end of generation (a held-back tail that never became a stop string). */
        String finish(String tail) {
            String out = push(tail);
            if (stopped) return out;
            out += pending;
            pending.setLength(0);
            return out;
        }
    }

    // ---- request parsing ----------------------------------------------------------------------

    private Job parseJob(JsonNode body, boolean chat) {
        Set<String> own = chat ? CHAT_ONLY : COMPLETION_ONLY;
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!COMMON.contains(f) && !own.contains(f)) {
                throw ApiException.badRequest("field '" + f + "' is not supported here");
            }
        }
        JsonNode model = body.get("model");
        if (model == null || !model.isTextual()) throw ApiException.badRequest("'model' is required (a string; GET /v1/models lists them)");
        if (!MODEL_ID.equals(model.asText())) {
            throw new ApiException(404, "model_not_found", "model '" + model.asText() + "' is not served here; GET /v1/models lists '"
                    + MODEL_ID + "'");
        }
        if (intField(body, "n", 1, 1, 128) != 1 || intField(body, "best_of", 1, 1, 128) != 1) {
            throw ApiException.badRequest("only n = 1 is served");
        }
        if (numberField(body, "presence_penalty", 0, 0, 0) != 0 || numberField(body, "frequency_penalty", 0, 0, 0) != 0) {
            throw ApiException.badRequest("presence and frequency penalties are not supported (must be 0)");
        }
        if (boolField(body, "echo", false)) throw ApiException.badRequest("'echo' is not supported");
        if (body.has("user") && !body.get("user").isTextual()) throw ApiException.badRequest("'user' must be a string");

        int[] prompt;
        if (chat) {
            prompt = chatTokens(body.get("messages"));
        } else {
            String text = promptText(body.get("prompt"));
            if (text.length() > CompletionService.MAX_PROMPT_CHARS) {
                throw ApiException.badRequest("prompt longer than " + CompletionService.MAX_PROMPT_CHARS + " characters");
            }
            prompt = host.tokenizer().encode(text, true);
        }
        if (prompt.length >= maxSeqLen) {
            throw ApiException.badRequest("prompt is " + prompt.length + " tokens; the context holds " + maxSeqLen
                    + " with room for at least one new token");
        }
        int room = maxSeqLen - prompt.length;
        String maxField = chat && body.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        int maxTokens = intField(body, maxField, chat ? room : Math.min(DEFAULT_COMPLETION_TOKENS, room), 1, maxSeqLen);
        maxTokens = Math.min(maxTokens, room); // the rest of the context; finish_reason says "length"
        float temperature = (float) numberField(body, "temperature", 1.0, 0, 2);
        double topP = numberField(body, "top_p", 1.0, 0, 1);
        if (topP <= 0) throw ApiException.badRequest("'top_p' must be in (0, 1], got " + topP);
        long seed;
        JsonNode s = body.get("seed");
        if (s == null || s.isNull()) {
            seed = random.nextLong();
        } else if (s.isIntegralNumber() && s.canConvertToLong()) {
            seed = s.asLong();
        } else {
            throw ApiException.badRequest("'seed' must be an integer");
        }
        boolean stream = boolField(body, "stream", false);
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!stream) throw ApiException.badRequest("'stream_options' needs 'stream': true");
            if (!so.isObject()) throw ApiException.badRequest("'stream_options' must be an object");
            for (Iterator<String> it = so.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!f.equals("include_usage")) throw ApiException.badRequest("stream_options." + f + " is not supported");
            }
            includeUsage = boolField(so, "include_usage", false);
        }
        return new Job(chat, prompt, maxTokens, temperature, (float) topP, seed, stops(body.get("stop")), stream, includeUsage);
    }

    private static String promptText(JsonNode p) {
        if (p == null || p.isNull()) throw ApiException.badRequest("'prompt' is required (a string)");
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) return p.get(0).asText();
        if (!p.isTextual()) throw ApiException.badRequest("'prompt' must be a string (or an array of one string)");
        if (p.asText().isEmpty()) throw ApiException.badRequest("'prompt' is empty");
        return p.asText();
    }

    private int[] chatTokens(JsonNode msgs) {
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
            throw ApiException.badRequest("'messages' is required: a non-empty array of {role, content}");
        }
        if (msgs.size() > MAX_MESSAGES) throw ApiException.badRequest("at most " + MAX_MESSAGES + " messages, got " + msgs.size());
        List<ChatPrompt.Message> out = new ArrayList<>();
        long chars = 0;
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            if (!m.isObject() || !m.path("role").isTextual()) throw ApiException.badRequest("messages[" + i + "] needs a string 'role'");
            String role = m.get("role").asText();
            if (!Set.of("system", "developer", "user", "assistant").contains(role)) {
                throw ApiException.badRequest("messages[" + i + "].role '" + role + "' is not supported (system, developer, user, assistant)");
            }
            out.add(new ChatPrompt.Message(role, content(m.get("content"), i)));
            chars += out.get(i).content().length();
        }
        if (chars > CompletionService.MAX_PROMPT_CHARS) {
            throw ApiException.badRequest("messages longer than " + CompletionService.MAX_PROMPT_CHARS + " characters in all");
        }
        int[] tokens = chatPrompt.encode(out, host.tokenizer());
        if (tokens.length == 0) throw ApiException.badRequest("the messages have no text");
        return tokens;
    }

    private static String content(JsonNode c, int i) {
        if (c != null && c.isTextual()) return c.asText();
        if (c != null && c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiException.badRequest("messages[" + i + "].content: only text parts are supported");
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw ApiException.badRequest("messages[" + i + "].content must be a string or an array of text parts");
    }

    private static List<String> stops(JsonNode stop) {
        List<String> out = new ArrayList<>();
        if (stop == null || stop.isNull()) return out;
        if (stop.isTextual()) {
            out.add(stop.asText());
        } else if (stop.isArray() && stop.size() <= MAX_STOPS) {
            for (JsonNode s : stop) {
                if (!s.isTextual()) throw ApiException.badRequest("'stop' entries must be strings");
                out.add(s.asText());
            }
        } else {
            throw ApiException.badRequest("'stop' must be a string or an array of at most " + MAX_STOPS + " strings");
        }
        for (String s : out) {
            if (s.isEmpty() || s.length() > MAX_STOP_CHARS) {
                throw ApiException.badRequest("each stop string must have 1 to " + MAX_STOP_CHARS + " characters");
            }
        }
        return out;
    }

    private static int intField(JsonNode body, String name, int def, int min, int max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return def;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
            throw ApiException.badRequest("'" + name + "' must be an integer in [" + min + ", " + max + "], got " + v);
        }
        return v.asInt();
    }

    private static double numberField(JsonNode body, String name, double def, double min, double max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return def;
        if (!v.isNumber() || !(v.asDouble() >= min && v.asDouble() <= max)) {
            throw ApiException.badRequest("'" + name + "' must be a number in [" + min + ", " + max + "], got " + v);
        }
        return v.asDouble();
    }

    private static boolean boolField(JsonNode body, String name, boolean def) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return def;
        if (!v.isBoolean()) throw ApiException.badRequest("'" + name + "' must be true or false, got " + v);
        return v.asBoolean();
    }

    // ---- plumbing -----------------------------------------------------------------------------

    /** True when the body is a JSON object with a "model" field: an OpenAI request. */
    private boolean namesModel(Context ctx) {
        if (ctx.contentLength() > CloudServer.MAX_JSON_BYTES) return false; // the plain handler refuses it
        try {
            JsonNode n = lenient.readTree(ctx.body());
            return n != null && n.isObject() && n.has("model");
        } catch (JsonProcessingException e) {
            return false;
        }
    }

    private JsonNode body(Context ctx) {
        if (ctx.contentLength() > CloudServer.MAX_JSON_BYTES) {
            throw ApiException.badRequest("body of " + ctx.contentLength() + " bytes exceeds " + CloudServer.MAX_JSON_BYTES);
        }
        String b = ctx.body();
        if (b.length() > CloudServer.MAX_JSON_BYTES) throw ApiException.badRequest("body exceeds " + CloudServer.MAX_JSON_BYTES + " bytes");
        try {
            JsonNode n = json.readTree(b);
            if (n == null || !n.isObject()) throw ApiException.badRequest("request body must be a JSON object");
            return n;
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("malformed JSON: " + e.getOriginalMessage());
        }
    }

    private interface Route {
        void handle(Context ctx) throws Exception;
    }

    /** Runs a route; a refusal becomes an OpenAI-shaped error body with the same status. */
    private void guarded(Context ctx, Route route) throws Exception {
        try {
            route.handle(ctx);
        } catch (ApiException e) {
            metrics.error(e.code());
            if (e.retryAfterSeconds() > 0) ctx.header("Retry-After", Integer.toString(e.retryAfterSeconds()));
            ObjectNode body = json.createObjectNode();
            body.putObject("error").put("message", e.getMessage())
                    .put("type", e.status() == 401 ? "authentication_error" : e.status() >= 500 ? "server_error" : "invalid_request_error")
                    .putNull("param").put("code", e.code());
            send(ctx.status(e.status()), body);
        }
    }

    private void send(Context ctx, JsonNode body) throws JsonProcessingException {
        ctx.contentType("application/json").result(json.writeValueAsString(body));
    }
}
