package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.WebSocket;
import okhttp3.WebSocketListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The dashboard in a real headless Chromium (Debian's {@code chromium}), driven over the DevTools
 * protocol: while a split session runs, the page loads with no console error or exception, shows
 * the session's row and draws its timeline: edge, encode, network and cloud per token for the
 * steps the edge sent timing messages for, one edge-and-link gap for the first steps it did not (as
 * an older edge); a screenshot goes to target/dashboard.png.
 */
class DashboardBrowserTest {
    private static final Pattern DEVTOOLS = Pattern.compile("DevTools listening on (ws://\\S+)");
    /** The live edge sends timing messages from this step on; the steps before it chart as one gap. */
    private static final long TIMINGS_FROM = 8;
    /** The chart's colours (dashboard.js), by series. */
    private static final Map<String, String> SERIES = Map.of("edge", "2e9e6a", "encode", "8a5cc2", "network", "9aa5b8",
            "cloud", "3b6fd8", "gap", "d5d9e1");

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void pageShowsTheRunningSessionWithNoConsoleErrors() throws Exception {
        Optional<Path> chromium = ExternalTools.onPath("chromium", "chromium-browser", "google-chrome");
        ExternalTools.require(chromium.isPresent(), "chromium is not installed (Debian: apt-get install chromium); "
                + "run scripts/dashboard-test.sh");
        Path profile = Files.createTempDirectory("splitllm-chromium");
        Process browser = null;
        try (ServerFixture fx = new ServerFixture(ServerConfig.defaults(Set.of(ServerFixture.TOKEN)));
             LiveSession live = new LiveSession(fx, 3, "tabq:eps=1e-3,bits=2/3/4/6/8", 25, TIMINGS_FROM)) {
            live.awaitTokens(5, 60_000);
            browser = new ProcessBuilder(chromium.get().toString(), "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--no-first-run", "--no-default-browser-check", "--remote-debugging-address=127.0.0.1",
                    "--remote-debugging-port=0", "--user-data-dir=" + profile, "--window-size=1280,1000", "about:blank")
                    .redirectErrorStream(true).start();
            String browserWs = devtoolsUrl(browser);
            String port = browserWs.replaceFirst("^ws://[^:]+:(\\d+)/.*$", "$1");
            String pageWs = pageTarget(port);
            try (Cdp cdp = new Cdp(pageWs)) {
                cdp.call("Runtime.enable", null);
                cdp.call("Log.enable", null);
                cdp.call("Page.enable", null);
                ObjectNode nav = ServerFixture.JSON.createObjectNode().put("url", fx.baseUrl() + "/dashboard#token=" + ServerFixture.TOKEN);
                cdp.call("Page.navigate", nav);
                // Wait for the session's row and a timeline with several decode steps.
                String js = "JSON.stringify({rows: [...document.querySelectorAll('#sessions tbody tr')].map(r => r.innerText),"
                        + " status: document.getElementById('status')?.textContent ?? '',"  // null while the page is still loading
                        + " title: document.getElementById('chart-title')?.textContent ?? ''})";
                JsonNode state = null;
                long end = System.currentTimeMillis() + 60_000;
                while (System.currentTimeMillis() < end) {
                    state = ServerFixture.JSON.readTree(evaluate(cdp, js));
                    if (state.path("rows").size() == 1 && state.path("status").asText().startsWith("live")
                            && live.tokens.get() > 20) {
                        break;
                    }
                    Thread.sleep(250);
                }
                Thread.sleep(1500); // one more poll, so the chart holds the later steps
                state = ServerFixture.JSON.readTree(evaluate(cdp, js));
                assertEquals(1, state.path("rows").size(), "the running session's row: " + state);
                String row = state.path("rows").get(0).asText();
                assertTrue(row.startsWith(live.id.substring(0, 8)), row);
                assertTrue(row.contains("edge [0,3) | cloud [3,6)") && row.contains("tabq") && row.contains("f32"), row);
                assertTrue(state.path("status").asText().startsWith("live"), state.toString());
                assertTrue(state.path("title").asText().contains("session " + live.id.substring(0, 8)), state.toString());
                // Pixels of each series' exact colour on the canvas (bars are drawn on whole pixels).
                StringBuilder counts = new StringBuilder("(() => { const c = document.getElementById('timeline');"
                        + " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const n = {};"
                        + " const want = {");
                SERIES.forEach((name, hex) -> counts.append('\'').append(hex).append("':'").append(name).append("',"));
                counts.append("}; for (let i = 0; i < d.length; i += 4) { const h = [d[i], d[i+1], d[i+2]]"
                        + ".map(v => v.toString(16).padStart(2, '0')).join(''); if (want[h]) n[want[h]] = (n[want[h]] || 0) + 1; }"
                        + " return JSON.stringify(n); })()");
                JsonNode pixels = ServerFixture.JSON.readTree(evaluate(cdp, counts.toString()));
                for (String series : List.of("edge", "encode", "network", "cloud")) {
                    int min = series.equals("encode") ? 20 : 100; // encoding is ~1 % of a step: one pixel high per bar
                    assertTrue(pixels.path(series).asInt() > min, series + " bars drawn on the timeline: " + pixels);
                }
                assertTrue(pixels.path("gap").asInt() > 20, "steps without a timing message show the one gap: " + pixels);
                String legend = evaluate(cdp, "document.querySelector('.legend').innerText");
                for (String item : List.of("edge: embedding and blocks", "edge: encode", "network, both directions",
                        "cloud: blocks, head and sampling", "edge sent no timing")) {
                    assertTrue(legend.contains(item), "legend names '" + item + "': " + legend);
                }
                assertTrue(state.path("title").asText().contains("with the edge's timings"), state.toString());

                JsonNode shot = cdp.call("Page.captureScreenshot", ServerFixture.JSON.createObjectNode().put("format", "png"));
                Path png = Path.of("target", "dashboard.png");
                Files.createDirectories(png.getParent());
                Files.write(png, Base64.getDecoder().decode(shot.path("data").asText()));
                System.out.println("dashboard screenshot -> " + png.toAbsolutePath());
                assertTrue(Files.size(png) > 10_000);
                assertEquals(List.of(), cdp.errors, "console errors or exceptions on the page");
            }
        } finally {
            if (browser != null) {
                browser.descendants().forEach(ProcessHandle::destroy); // chromium's own helper processes
                browser.destroy();
                browser.waitFor(10, TimeUnit.SECONDS);
            }
            deleteTree(profile);
        }
    }

    private static String evaluate(Cdp cdp, String expression) throws Exception {
        JsonNode r = cdp.call("Runtime.evaluate", ServerFixture.JSON.createObjectNode().put("expression", expression)
                .put("returnByValue", true));
        if (r.has("exceptionDetails")) throw new AssertionError("page script failed: " + r.path("exceptionDetails"));
        return r.path("result").path("value").asText();
    }

    /** Reads chromium's output until it prints its DevTools address. */
    private static String devtoolsUrl(Process browser) throws Exception {
        CompletableFuture<String> url = new CompletableFuture<>();
        StringBuilder seen = new StringBuilder();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(browser.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    Matcher m = DEVTOOLS.matcher(line);
                    if (m.find()) url.complete(m.group(1));
                    else if (seen.length() < 4000) seen.append(line).append('\n');
                }
            } catch (Exception e) {
                url.completeExceptionally(e);
            }
            url.completeExceptionally(new AssertionError("chromium exited without a DevTools address:\n" + seen));
        }, "chromium-output");
        reader.setDaemon(true);
        reader.start();
        return url.get(60, TimeUnit.SECONDS);
    }

    private static String pageTarget(String port) throws Exception {
        Request req = new Request.Builder().url("http://127.0.0.1:" + port + "/json/list").build();
        try (Response r = ServerFixture.HTTP.newCall(req).execute()) {
            for (JsonNode t : ServerFixture.JSON.readTree(r.body().string())) {
                if ("page".equals(t.path("type").asText())) return t.path("webSocketDebuggerUrl").asText();
            }
        }
        throw new AssertionError("chromium has no page target");
    }

    private static void deleteTree(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (Exception ignored) {
            // a temp folder; the OS cleans it eventually
        }
    }

    /** A minimal DevTools-protocol client: numbered calls, and the page's errors collected from events. */
    static final class Cdp implements AutoCloseable {
        final List<String> errors = new CopyOnWriteArrayList<>();
        private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
        private final AtomicInteger ids = new AtomicInteger();
        private final WebSocket ws;

        Cdp(String url) {
            ws = ServerFixture.HTTP.newWebSocket(new Request.Builder().url(url).build(), new WebSocketListener() {
                @Override
                public void onMessage(WebSocket w, String text) {
                    try {
                        JsonNode m = ServerFixture.JSON.readTree(text);
                        if (m.has("id")) {
                            CompletableFuture<JsonNode> f = pending.remove(m.path("id").asInt());
                            if (f != null) f.complete(m);
                            return;
                        }
                        String method = m.path("method").asText();
                        JsonNode p = m.path("params");
                        if (method.equals("Runtime.exceptionThrown")) {
                            errors.add("exception: " + p.path("exceptionDetails"));
                        } else if (method.equals("Runtime.consoleAPICalled")
                                && (p.path("type").asText().equals("error") || p.path("type").asText().equals("assert"))) {
                            errors.add("console." + p.path("type").asText() + ": " + p.path("args"));
                        } else if (method.equals("Log.entryAdded") && p.path("entry").path("level").asText().equals("error")) {
                            errors.add("log: " + p.path("entry").path("text").asText() + " " + p.path("entry").path("url").asText());
                        }
                    } catch (Exception e) {
                        errors.add("unreadable DevTools message: " + e);
                    }
                }

                @Override
                public void onFailure(WebSocket w, Throwable t, Response response) {
                    pending.values().forEach(f -> f.completeExceptionally(t));
                }
            });
        }

        JsonNode call(String method, ObjectNode params) throws Exception {
            int id = ids.incrementAndGet();
            CompletableFuture<JsonNode> f = new CompletableFuture<>();
            pending.put(id, f);
            ObjectNode msg = ServerFixture.JSON.createObjectNode().put("id", id).put("method", method);
            if (params != null) msg.set("params", params);
            ws.send(ServerFixture.JSON.writeValueAsString(msg));
            JsonNode reply = f.get(30, TimeUnit.SECONDS);
            if (reply.has("error")) throw new AssertionError(method + " failed: " + reply.path("error"));
            return reply.path("result");
        }

        @Override
        public void close() {
            ws.close(1000, null);
        }
    }
}
