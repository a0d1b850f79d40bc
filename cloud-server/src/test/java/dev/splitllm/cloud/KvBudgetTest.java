package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.engine.model.MemoryAccount;
import java.time.Duration;
import java.util.Set;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

/** Sessions and plain completions share one KV budget; what does not fit gets 503 with the numbers. */
class KvBudgetTest {

    @Test
    void sessionsAndCompletionsAreRefusedBeyondTheKvBudget() throws Exception {
        ServerConfig c = ServerConfig.defaults(Set.of(ServerFixture.TOKEN)).withLimits(8, 100_000, Duration.ofMinutes(5));
        OkHttpClient http = new OkHttpClient();
        okhttp3.MediaType json = okhttp3.MediaType.get("application/json");
        ObjectMapper mapper = new ObjectMapper();
        try (ServerFixture fx = new ServerFixture(c)) {
            // 4 cloud blocks x 64 positions x 2 x 288 x 4 bytes = 589,824 bytes > 100,000.
            String session = "{\"splitLayer\":2,\"codec\":\"fp32\",\"cloudWeights\":\"f32\",\"maxSeqLen\":64,\"temperature\":0,\"topP\":1,\"seed\":1}";
            // 6 blocks x (5 + 20) positions x 2 x 288 x 4 bytes = 345,600 bytes > 100,000.
            String completion = "{\"prompt\":\"Once upon a time\",\"maxTokens\":20,\"temperature\":0,\"topP\":1,\"seed\":1}";
            // The refusal names what the engine's memory account says the request needs.
            long sessionKv = MemoryAccount.kvCacheBytes(ServerFixture.config(), 4, 64);
            long completionKv = MemoryAccount.kvCacheBytes(ServerFixture.config(), 6, 5 + 20);
            assertEquals(589_824, sessionKv);
            assertEquals(345_600, completionKv);
            for (String[] call : new String[][] {{"/v1/sessions", session, "" + sessionKv}, {"/v1/completions", completion, "" + completionKv}}) {
                Request req = new Request.Builder().url(fx.server.baseUrl() + call[0]).header("Authorization", "Bearer " + ServerFixture.TOKEN)
                        .post(RequestBody.create(call[1], json)).build();
                try (Response r = http.newCall(req).execute()) {
                    JsonNode body = mapper.readTree(r.body().string());
                    assertEquals(503, r.code(), body.toString());
                    assertEquals("limit", body.path("code").asText());
                    assertTrue(body.path("message").asText().contains("KV memory limit"), body.toString());
                    assertTrue(body.path("message").asText().contains("needs " + call[2] + " bytes"), body.toString());
                }
            }
            assertTrue(fx.server.metricsText().contains("splitllm_kv_reserved_bytes 0"), "refused requests must not keep a reservation");
            // A completion that fits still works: 6 x (5 + 1) x 2304 = 82,944 bytes.
            Request small = new Request.Builder().url(fx.server.baseUrl() + "/v1/completions").header("Authorization", "Bearer " + ServerFixture.TOKEN)
                    .post(RequestBody.create(completion.replace("\"maxTokens\":20", "\"maxTokens\":1"), json)).build();
            try (Response r = http.newCall(small).execute()) {
                assertEquals(200, r.code());
            }
            assertTrue(fx.server.metricsText().contains("splitllm_kv_reserved_bytes 0"), "a finished completion releases its KV");
        }
    }
}
