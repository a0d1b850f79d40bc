package dev.splitllm.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.tools.convert.SyntheticArchitectures;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two chat turns on the qwen2 fixture (ChatML): template applied, specials as ids, history and KV prefix kept. */
class ChatSessionTest {
    @TempDir
    Path work;

    @Test
    void secondTurnReusesTheCacheAndMatchesAFreshRun() throws Exception {
        Path gguf = work.resolve("qwen2.gguf");
        SyntheticArchitectures.write("qwen2", TestModel.tokenizer(), gguf);
        try (ModelSource src = ModelFiles.open(gguf)) {
            Tokenizer tok = src.tokenizer();
            Transformer tf = new Transformer(src.load(ModelSlice.all(src.config().nLayers())), KernelProvider.best(), TestModel.TEAM);
            ChatTemplate template = ChatTemplate.fromGguf(gguf);
            Set<Integer> stop = EndOfTurn.ids(gguf);
            int imEnd = tok.vocabSize() - 1, imStart = tok.vocabSize() - 2;
            assertTrue(stop.contains(imEnd), "<|im_end|> ends a turn: " + stop);

            ChatSession chat = new ChatSession(tf, tok, template, stop, null);
            String first = chat.reply("Hello there", 8, Sampler.greedy(), s -> { });
            String second = chat.reply("Tell me more", 8, Sampler.greedy(), s -> { });
            assertEquals(4, chat.history().size());
            assertEquals(new ChatMessage("assistant", first), chat.history().get(1));

            // The prompt of turn 2 holds <|im_start|> as a token, and a fresh session replaying the
            // same history produces the same second reply (so the reused KV prefix is right).
            int[] prompt = chat.promptTokens();
            assertTrue(Arrays.stream(prompt).filter(t -> t == imStart).count() >= 4, "ChatML markers must be special ids");
            ChatSession fresh = new ChatSession(tf, tok, template, stop, null);
            fresh.preload(List.of(chat.history().get(0), chat.history().get(1)));
            assertEquals(second, fresh.reply("Tell me more", 8, Sampler.greedy(), x -> { }));
        }
    }
}
