package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.engine.sample.Sampler;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OpenAI-compatible routes on the real stories15M over a real socket: greedy output equals
 * the unsplit model's, streaming carries the same text as SSE chunks ending in [DONE], stop
 * strings cut, and bad requests get OpenAI-shaped 4xx errors while the plain call keeps working.
 */
class OpenAiApiTest {
    static ServerFixture fx;

    @BeforeAll
    static void start() {
        fx = new ServerFixture(ServerConfig.defaults(Set.of(ServerFixture.TOKEN)));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    /** The unsplit model's greedy continuation of {@code prompt}, as text, cut at EOS/BOS. */
    static String reference(String prompt, int n) {
        int[] ids = fx.monolithic(prompt, n, Sampler.greedy());
        int end = 0;
        while (end < ids.length && ids[end] != ServerFixture.tokenizer().eos() && ids[end] != ServerFixture.tokenizer().bos()) end++;
        int[] p = ServerFixture.tokenizer().encode(prompt, true);
        int[] all = Arrays.copyOf(p, p.length + end);
        System.arraycopy(ids, 0, all, p.length, end);
        return ServerFixture.tokenizer().decode(all).substring(ServerFixture.tokenizer().decode(p).length());
    }

    @Test
    void greedyCompletionIsTheUnsplitModelsText() throws Exception {
        ServerFixture.Reply r = fx.call("POST", "/v1/completions", ServerFixture.TOKEN,
                "{\"model\":\"splitllm\",\"prompt\":\"Once upon a time\",\"max_tokens\":20,\"temperature\":0}");
        assertEquals(200, r.status(), String.valueOf(r.body()));
        JsonNode b = r.body();
        assertEquals("text_completion", b.path("object").asText());
        assertEquals("splitllm", b.path("model").asText());
        assertTrue(b.path("id").asText().startsWith("cmpl-"));
        assertEquals(reference("Once upon a time", 20), b.path("choices").get(0).path("text").asText());
        assertEquals("length", b.path("choices").get(0).path("finish_reason").asText());
        assertEquals(20, b.path("usage").path("completion_tokens").asInt());
        assertEquals(5, b.path("usage").path("prompt_tokens").asInt(), "BOS + 4 prompt tokens");
        assertEquals(25, b.path("usage").path("total_tokens").asInt());
    }

    @Test
    void streamedChatCarriesTheSameTextAndEndsWithDone() throws Exception {
        String body = "{\"model\":\"splitllm\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                + "\"max_tokens\":24,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
        List<String> events = sse("/v1/chat/completions", body);
        assertEquals("[DONE]", events.get(events.size() - 1));
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        JsonNode first = ServerFixture.JSON.readTree(events.get(0));
        assertEquals("assistant", first.path("choices").get(0).path("delta").path("role").asText(), "the first chunk names the role");
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode c = ServerFixture.JSON.readTree(e);
            assertEquals("chat.completion.chunk", c.path("object").asText());
            if (c.path("choices").isEmpty()) {
                usage = c.path("usage");
                continue;
            }
            JsonNode ch = c.path("choices").get(0);
            text.append(ch.path("delta").path("content").asText(""));
            if (!ch.path("finish_reason").isNull()) finish = ch.path("finish_reason").asText();
        }
        assertTrue(events.size() > 5, "one chunk per piece, not one blob: " + events.size());
        assertEquals(reference("Once upon a time", 24), text.toString());
        assertEquals("length", finish);
        assertNotNull(usage, "include_usage sends a usage chunk");
        assertEquals(24, usage.path("completion_tokens").asInt());

        ServerFixture.Reply whole = fx.call("POST", "/v1/chat/completions", ServerFixture.TOKEN, body.replace(",\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}", ""));
        assertEquals(200, whole.status(), String.valueOf(whole.body()));
        assertEquals(text.toString(), whole.body().path("choices").get(0).path("message").path("content").asText());
        assertEquals("assistant", whole.body().path("choices").get(0).path("message").path("role").asText());
    }

    @Test
    void stopStringCutsTheTextStreamedOrNot() throws Exception {
        String full = reference("Once upon a time", 30);
        int dot = full.indexOf('.');
        assertTrue(dot > 0, full);
        String body = "{\"model\":\"splitllm\",\"prompt\":\"Once upon a time\",\"max_tokens\":30,\"temperature\":0,\"stop\":[\"zzz\",\".\"]";
        ServerFixture.Reply r = fx.call("POST", "/v1/completions", ServerFixture.TOKEN, body + "}");
        assertEquals(full.substring(0, dot), r.body().path("choices").get(0).path("text").asText());
        assertEquals("stop", r.body().path("choices").get(0).path("finish_reason").asText());
        StringBuilder streamed = new StringBuilder();
        for (String e : sse("/v1/completions", body + ",\"stream\":true}")) {
            if (!e.equals("[DONE]")) streamed.append(ServerFixture.JSON.readTree(e).path("choices").get(0).path("text").asText());
        }
        assertEquals(full.substring(0, dot), streamed.toString());
    }

    @Test
    void stopFilterHoldsBackOnlyWhatMayStillBecomeAStopString() {
        OpenAiApi.StopFilter f = new OpenAiApi.StopFilter(List.of("The end"));
        assertEquals("a b ", f.push("a b T"));
        assertEquals("", f.push("he e"));
        assertEquals("The ex", f.push("x"), "the held tail is released once it cannot match");
        assertEquals(" ", f.push(" The end and more"), "cut right before the stop string");
        assertTrue(f.stopped());
        OpenAiApi.StopFilter g = new OpenAiApi.StopFilter(List.of("\n\n"));
        assertEquals("x", g.push("x\n"));
        assertEquals("\n", g.finish(""), "a held tail that never matched comes out at the end");
    }

    @Test
    void modelsAreListedWithTheSameTokens() throws Exception {
        ServerFixture.Reply r = fx.call("GET", "/v1/models", ServerFixture.TOKEN, null);
        assertEquals(200, r.status());
        assertEquals("list", r.body().path("object").asText());
        assertEquals("splitllm", r.body().path("data").get(0).path("id").asText());
        assertEquals(401, fx.call("GET", "/v1/models", null, null).status());
        assertEquals(401, fx.call("GET", "/v1/models", "wrong", null).status());
        assertEquals(404, fx.call("GET", "/v1/models/gpt-4", ServerFixture.TOKEN, null).status());
    }

    @Test
    void badRequestsGetOpenAiShapedErrors() throws Exception {
        String[][] cases = {
                {"{\"model\":\"splitllm\",\"prompt\":\"x\",\"temperature\":3}", "400", "'temperature' must be a number in [0.0, 2.0]"},
                {"{\"model\":\"splitllm\",\"prompt\":\"x\",\"max_tokens\":0}", "400", "'max_tokens' must be an integer"},
                {"{\"model\":\"splitllm\",\"prompt\":\"x\",\"logit_bias\":{}}", "400", "field 'logit_bias' is not supported"},
                {"{\"model\":\"splitllm\",\"prompt\":\"x\",\"n\":2}", "400", "only n = 1"},
                {"{\"model\":\"splitllm\",\"prompt\":\"x\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "400", "at most 4 strings"},
                {"{\"model\":\"splitllm\",\"prompt\":\"x\",\"stream_options\":{\"include_usage\":true}}", "400", "needs 'stream': true"},
                {"{\"model\":\"splitllm\",\"prompt\":\"x\",\"seed\":1.5}", "400", "'seed' must be an integer"},
                {"{\"model\":\"splitllm\",\"prompt\":\"x\",\"model\":\"y\"}", "400", "malformed JSON"},
                {"{\"model\":\"gpt-4\",\"prompt\":\"x\"}", "404", "model 'gpt-4' is not served here"},
                {"{\"model\":\"splitllm\",\"prompt\":\"" + "word ".repeat(400) + "\"}", "400", "the context holds"},
        };
        for (String[] c : cases) {
            ServerFixture.Reply r = fx.call("POST", "/v1/completions", ServerFixture.TOKEN, c[0]);
            assertEquals(Integer.parseInt(c[1]), r.status(), c[0] + " -> " + r.body());
            assertTrue(r.body().path("error").path("message").asText().contains(c[2]), c[0] + " -> " + r.body());
        }
        ServerFixture.Reply chat = fx.call("POST", "/v1/chat/completions", ServerFixture.TOKEN,
                "{\"model\":\"splitllm\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}");
        assertEquals(400, chat.status());
        assertTrue(chat.body().path("error").path("message").asText().contains("only text parts"), chat.body().toString());
        ServerFixture.Reply noAuth = fx.call("POST", "/v1/chat/completions", null, "{\"model\":\"splitllm\",\"messages\":[]}");
        assertEquals(401, noAuth.status(), "the server's own bearer check, before any route");
    }

    @Test
    void plainCompletionBodiesStillReachThePlainCall() throws Exception {
        ServerFixture.Reply r = fx.call("POST", "/v1/completions", ServerFixture.TOKEN,
                "{\"prompt\":\"Once upon a time\",\"maxTokens\":8,\"temperature\":0,\"topP\":1,\"seed\":1}");
        assertEquals(200, r.status(), String.valueOf(r.body()));
        assertEquals(8, r.body().path("tokens").size(), "the protocol's CompletionResponse: " + r.body());
    }

    /** The data fields of a server-sent-event response, in order. */
    static List<String> sse(String path, String body) throws Exception {
        Request req = new Request.Builder().url(fx.baseUrl() + path).header("Authorization", "Bearer " + ServerFixture.TOKEN)
                .post(RequestBody.create(body, ServerFixture.JSON_TYPE)).build();
        List<String> out = new ArrayList<>();
        try (Response r = ServerFixture.HTTP.newCall(req).execute()) {
            assertEquals(200, r.code());
            assertTrue(r.header("Content-Type", "").startsWith("text/event-stream"), r.header("Content-Type"));
            BufferedReader in = new BufferedReader(new InputStreamReader(r.body().byteStream(), StandardCharsets.UTF_8));
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.startsWith("data: ")) out.add(line.substring(6));
                else assertEquals("", line, "only data lines and blank separators");
            }
        }
        return out;
    }
}
