package dev.splitllm.android;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.splitllm.cloud.CloudServer;
import dev.splitllm.cloud.ModelHost;
import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.fetch.ModelStore;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.model.Llama2cCheckpoint;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.tokenizer.Llama2Tokenizer;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.Test;

/**
 * What the activity relies on when it goes away: cancelling a run mid-story closes its session on
 * the server and reports nothing more. Runs on the test thread, so no waiting is involved.
 */
public class StoryRunTest {
    private static final String TOKEN = "story-run-token";

    /** Records what a run reports, cancelling it at the first token. */
    private static final class CancellingView implements StoryView {
        final List<String> events = new ArrayList<>();
        StoryRun run;

        @Override
        public void started(String kernels) {
            events.add("started");
        }

        @Override
        public void token(String piece, String stats) {
            events.add("token");
            run.cancel();
        }

        @Override
        public void finished(String summary) {
            events.add("finished");
        }

        @Override
        public void failed(String message) {
            events.add("failed: " + message);
        }
    }

    @Test
    public void cancellingMidStoryClosesTheCloudSession() throws IOException {
        Path dir = ModelStore.stories15MDir();
        try (ThreadTeam team = new ThreadTeam(1);
             CloudServer server = new CloudServer(ServerConfig.defaults(Set.of(TOKEN)),
                     new ModelHost(Llama2cCheckpoint.load(dir.resolve(ModelFiles.CHECKPOINT), ModelSlice.all(6)),
                             Llama2Tokenizer.load(dir.resolve(ModelFiles.TOKENIZER), 32000), KernelProvider.best(), team,
                             Set.of(WeightFormat.F32), null)).start();
             ModelSlot model = new ModelSlot(new ModelFiles(dir.toFile()), 2, 1)) {
            CancellingView view = new CancellingView();
            StoryRun run = new StoryRun(model, "Once upon a time", server.baseUrl(), TOKEN, 50, view);
            view.run = run;
            run.run();

            assertEquals(List.of("started", "token"), view.events);
            String metrics = server.metricsText();
            assertTrue(metrics, metrics.contains("splitllm_sessions_created_total 1"));
            assertTrue(metrics, metrics.contains("splitllm_sessions_closed_total 1"));
            assertTrue(metrics, metrics.contains("splitllm_sessions_active 0"));
        }
    }
}
