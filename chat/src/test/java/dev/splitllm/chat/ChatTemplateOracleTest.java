package dev.splitllm.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.engine.TestModel;
import dev.splitllm.tools.convert.SyntheticArchitectures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The four families' chat templates, read back from the synthetic GGUF fixtures, rendered by
 * Jinjava ({@link ChatTemplate}); the oracle test compares with @huggingface/jinja and
 * llama.cpp's own Jinja engine on the same template and messages (needs scripts/oracle-tests.sh).
 */
class ChatTemplateOracleTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path work;

    static List<List<ChatMessage>> conversations(String family) {
        List<List<ChatMessage>> out = new ArrayList<>();
        out.add(List.of(new ChatMessage("user", "Hello! How are you?")));
        out.add(List.of(new ChatMessage("user", "  What is 2+2?  "), new ChatMessage("assistant", " Four. "),
                new ChatMessage("user", "And 3+3? 日本語 🙂")));
        if (!family.equals("mistral")) {
            out.add(List.of(new ChatMessage("system", "You are terse."), new ChatMessage("user", "Name a colour."),
                    new ChatMessage("assistant", "Blue."), new ChatMessage("user", "Another one\nplease.")));
        }
        return out;
    }

    static ChatTemplate template(String family) throws Exception {
        Path gguf = work.resolve(family + ".gguf");
        if (!Files.exists(gguf)) SyntheticArchitectures.write(family, TestModel.tokenizer(), gguf);
        ChatTemplate t = ChatTemplate.fromGguf(gguf);
        assertEquals(SyntheticArchitectures.template(family), t.source());
        return t;
    }

    @Test
    void llama3RendersTheKnownPrompt() throws Exception {
        String got = template("llama3").render(List.of(new ChatMessage("user", " Hi ")), true);
        assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", got);
    }

    @Test
    void raiseExceptionStopsRendering() throws Exception {
        ChatTemplate t = template("mistral");
        assertThrows(IllegalArgumentException.class,
                () -> t.render(List.of(new ChatMessage("assistant", "a"), new ChatMessage("assistant", "b")), true));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llama2", "llama3", "qwen2", "mistral"})
    void rendersLikeLlamaCppAndHuggingFaceJinja(String family) throws Exception {
        String dir = System.getenv("SPLITLLM_LLAMA_CPP");
        Assumptions.assumeTrue(dir != null && Files.isDirectory(Path.of(dir, "node_modules", "node-llama-cpp")),
                "llama.cpp oracle not installed: run scripts/oracle-tests.sh (sets SPLITLLM_LLAMA_CPP)");
        ChatTemplate t = template(family);
        ObjectNode req = JSON.createObjectNode();
        ArrayNode items = req.putArray("templates");
        List<String> ours = new ArrayList<>();
        for (List<ChatMessage> conv : conversations(family)) {
            for (boolean gen : new boolean[] {true, false}) {
                ObjectNode it = items.addObject();
                it.put("template", t.source());
                ObjectNode ctx = it.putObject("context");
                ArrayNode msgs = ctx.putArray("messages");
                for (ChatMessage m : conv) msgs.addObject().put("role", m.role()).put("content", m.content());
                ctx.put("bos_token", t.bosToken()).put("eos_token", t.eosToken()).put("add_generation_prompt", gen);
                ours.add(t.render(conv, gen));
            }
        }
        JsonNode reply = call(req);
        for (int i = 0; i < ours.size(); i++) {
            JsonNode r = reply.get("rendered").get(i);
            assertTrue(r.has("jinja"), "@huggingface/jinja failed: " + r);
            assertEquals(r.get("jinja").asText(), ours.get(i), family + " #" + i + " vs @huggingface/jinja");
            assertTrue(r.has("native"), "llama.cpp's Jinja failed: " + r);
            assertEquals(r.get("native").asText(), ours.get(i), family + " #" + i + " vs llama.cpp's Jinja");
        }
    }

    static JsonNode call(ObjectNode request) throws Exception {
        Path script = Path.of("../scripts/llama-cpp/oracle.mjs").toAbsolutePath().normalize();
        Path req = Files.createTempFile(work, "req", ".json"), out = Files.createTempFile(work, "out", ".json");
        Path err = Files.createTempFile(work, "err", ".txt");
        Files.writeString(req, JSON.writeValueAsString(request));
        Process p = new ProcessBuilder("node", script.toString(), req.toString()).redirectOutput(out.toFile())
                .redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "oracle.mjs timed out");
        assertEquals(0, p.exitValue(), () -> "oracle.mjs failed: " + readQuietly(err));
        return JSON.readTree(out.toFile());
    }

    static String readQuietly(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (Exception e) {
            return e.toString();
        }
    }
}
