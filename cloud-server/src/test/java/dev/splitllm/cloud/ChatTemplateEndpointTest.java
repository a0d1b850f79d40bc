package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.splitllm.chat.ChatSession;
import dev.splitllm.chat.ChatTemplate;
import dev.splitllm.chat.EndOfTurn;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import dev.splitllm.tools.convert.SyntheticArchitectures;
import java.nio.file.Path;
import java.util.Set;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * /v1/chat/completions on a model with a chat template (the qwen2 fixture, ChatML) takes the same
 * template path as {@code ./splitllm chat}: the reply equals ChatSession's for the same message,
 * greedy, and the model's end-of-turn token ends it.
 */
class ChatTemplateEndpointTest {
    @TempDir
    Path work;

    @Test
    void chatCompletionRendersTheModelsTemplateLikeTheChatCommand() throws Exception {
        Path gguf = work.resolve("qwen2.gguf");
        SyntheticArchitectures.write("qwen2", ServerFixture.tokenizer(), gguf);
        ModelWeights weights;
        Tokenizer tok;
        try (ModelSource src = ModelFiles.open(gguf)) {
            weights = src.load(ModelSlice.all(src.config().nLayers()));
            tok = src.tokenizer();
        }
        ChatPrompt prompt = TemplateChatPrompt.forGguf(gguf);
        assertInstanceOf(TemplateChatPrompt.class, prompt, "the fixture carries a chat template");
        assertTrue(prompt.endsTurn(tok.vocabSize() - 1), "<|im_end|> ends the assistant's turn");

        String expected;
        try (ThreadTeam team = new ThreadTeam(1)) {
            ChatSession chat = new ChatSession(new Transformer(weights, KernelProvider.best(), team), tok,
                    ChatTemplate.fromGguf(gguf), EndOfTurn.ids(gguf), null);
            expected = chat.reply("Hello there", 12, Sampler.greedy(), s -> { });
        }

        ThreadTeam team = new ThreadTeam(1);
        ModelHost host = new ModelHost(weights, tok, KernelProvider.best(), team, Set.of(WeightFormat.F32), null).withChatPrompt(prompt);
        try (team; CloudServer server = new CloudServer(ServerConfig.defaults(Set.of(ServerFixture.TOKEN)), host).start()) {
            String body = "{\"model\":\"splitllm\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}],"
                    + "\"max_tokens\":12,\"temperature\":0}";
            Request req = new Request.Builder().url(server.baseUrl() + "/v1/chat/completions")
                    .header("Authorization", "Bearer " + ServerFixture.TOKEN)
                    .post(RequestBody.create(body, ServerFixture.JSON_TYPE)).build();
            try (Response r = ServerFixture.HTTP.newCall(req).execute()) {
                String text = r.body().string();
                assertEquals(200, r.code(), text);
                JsonNode reply = ServerFixture.JSON.readTree(text);
                assertEquals(expected, reply.path("choices").get(0).path("message").path("content").asText());
                int promptTokens = reply.path("usage").path("prompt_tokens").asInt();
                String rendered = ChatTemplate.fromGguf(gguf).render(
                        java.util.List.of(new dev.splitllm.chat.ChatMessage("user", "Hello there")), true);
                assertEquals(tok.encode(rendered, false, true).length, promptTokens,
                        "the prompt is the rendered template with its special tokens as single ids");
                assertTrue(promptTokens < tok.encode(rendered, false, false).length, "markers parsed as specials, not as text");
            }
        } finally {
            host.close();
        }
    }
}
