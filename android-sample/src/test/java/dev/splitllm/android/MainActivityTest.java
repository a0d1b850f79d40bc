package dev.splitllm.android;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.robolectric.Shadows.shadowOf;

import android.content.Intent;
import android.os.Looper;
import android.view.View;
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
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.robolectric.Robolectric;
import org.robolectric.RobolectricTestRunner;
import org.robolectric.RuntimeEnvironment;
import org.robolectric.android.controller.ActivityController;

/**
 * The sample app against a real cloud server on loopback serving the real stories15M, with the
 * model files linked into the app's files directory. Waits are bounded: the test waits for the
 * app's worker thread to drain, then runs the main looper's posted UI updates.
 */
@RunWith(RobolectricTestRunner.class)
public class MainActivityTest {
    private static final String TOKEN = "android-test-token";
    private static final String GOLDEN =
            "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.";

    private static ThreadTeam team;
    private static CloudServer server;

    @BeforeClass
    public static void startServer() throws IOException {
        Path dir = ModelStore.stories15MDir();
        team = new ThreadTeam(1);
        ModelHost host = new ModelHost(Llama2cCheckpoint.load(dir.resolve(ModelFiles.CHECKPOINT), ModelSlice.all(6)),
                Llama2Tokenizer.load(dir.resolve(ModelFiles.TOKENIZER), 32000), KernelProvider.best(), team,
                Set.of(WeightFormat.F32), null);
        server = new CloudServer(ServerConfig.defaults(Set.of(TOKEN)), host).start();
    }

    @AfterClass
    public static void stopServer() {
        if (server != null) server.close();
        if (team != null) team.close();
    }

    @Before
    public void linkModelIntoAppStorage() throws IOException {
        File files = RuntimeEnvironment.getApplication().getFilesDir();
        for (String name : new String[] {ModelFiles.CHECKPOINT, ModelFiles.TOKENIZER}) {
            Path link = files.toPath().resolve(name);
            Files.deleteIfExists(link);
            Files.createSymbolicLink(link, ModelStore.stories15MDir().resolve(name));
        }
    }

    private static ActivityController<MainActivity> launch(Intent extras) {
        Intent intent = new Intent(RuntimeEnvironment.getApplication(), MainActivity.class)
                .putExtra(MainActivity.EXTRA_MAX_TOKENS, 21)
                .putExtra(MainActivity.EXTRA_THREADS, 1)
                .putExtras(extras);
        return Robolectric.buildActivity(MainActivity.class, intent).setup();
    }

    /** Clicks Generate, waits (bounded) for the worker, then delivers the posted UI updates. */
    private static void generate(MainActivity a, String url, String token) throws InterruptedException {
        a.serverField().setText(url);
        a.tokenField().setText(token);
        assertTrue(a.generateButton().performClick());
        assertFalse("the button is disabled while a generation runs", a.generateButton().isEnabled());
        assertTrue("the generation did not end within 120 s", a.awaitWorker(120, TimeUnit.SECONDS));
        shadowOf(Looper.getMainLooper()).idle();
    }

    @Test
    public void streamsTheGreedyStoryFromTheSplitModelOnPlainJavaKernels() throws InterruptedException {
        ActivityController<MainActivity> c = launch(new Intent());
        MainActivity a = c.get();
        assertEquals("Once upon a time", a.promptField().getText().toString());
        generate(a, server.baseUrl(), TOKEN);

        assertEquals("", a.errorView().getText().toString());
        assertEquals(View.GONE, a.errorView().getVisibility());
        assertEquals(GOLDEN, a.storyView().getText().toString());
        String stats = a.statsView().getText().toString();
        assertTrue(stats, stats.matches("edge \\d+\\.\\d\\d ms/token · [\\d,]+ bytes up · \\d+\\.\\d tok/s · 21 tokens\n"
                + "done: 21 tokens \\(max_tokens\\), \\d+ ms"));
        long bytesUp = Long.parseLong(stats.replaceAll("(?s).* ([\\d,]+) bytes up.*", "$1").replace(",", ""));
        assertTrue("fp32 frames carry 288 floats per token row: " + bytesUp, bytesUp > (5 + 20) * 288 * 4);

        // No jdk.incubator.vector in this JVM, as on Android: the app runs the plain-Java kernels.
        assertEquals("scalar", KernelProvider.best().name());
        assertTrue(a.kernelsView().getText().toString(),
                a.kernelsView().getText().toString().startsWith("kernels: scalar (module jdk.incubator.vector is not present"));
        assertTrue(a.generateButton().isEnabled());

        c.pause().stop().destroy();
        assertTrue("the worker stops once the activity is destroyed", a.awaitWorker(30, TimeUnit.SECONDS));
    }

    @Test
    public void aWrongTokenShowsAnErrorInsteadOfAStory() throws InterruptedException {
        MainActivity a = launch(new Intent()).get();
        generate(a, server.baseUrl(), "not-the-token");
        assertEquals(View.VISIBLE, a.errorView().getVisibility());
        String error = a.errorView().getText().toString();
        assertTrue(error, error.startsWith("the server refused the token: server refused PUT " + server.baseUrl() + "/v1/sessions/")
                && error.contains("(HTTP 401)"));
        assertEquals("Once upon a time", a.storyView().getText().toString());
        assertTrue("a failed run can be retried", a.generateButton().isEnabled());
    }

    @Test
    public void anUnreachableServerShowsAnError() throws IOException, InterruptedException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        MainActivity a = launch(new Intent()).get();
        generate(a, "http://127.0.0.1:" + closedPort, TOKEN);
        assertEquals(View.VISIBLE, a.errorView().getVisibility());
        String error = a.errorView().getText().toString();
        assertTrue(error, error.startsWith("cannot reach the server: could not create a session at http://127.0.0.1:" + closedPort)
                && error.contains("cannot reach http://127.0.0.1:" + closedPort));
        assertEquals("Once upon a time", a.storyView().getText().toString());
    }

    @Test
    public void missingModelFilesShowAnError() throws IOException, InterruptedException {
        Path empty = Files.createTempDirectory("splitllm-no-model");
        MainActivity a = launch(new Intent().putExtra(MainActivity.EXTRA_MODEL_DIR, empty.toString())).get();
        generate(a, server.baseUrl(), TOKEN);
        String error = a.errorView().getText().toString();
        assertTrue(error, error.startsWith("model file " + empty.resolve(ModelFiles.CHECKPOINT) + " is missing"));
        Files.delete(empty);
    }

    @Test
    public void aServerUrlThatIsNotHttpShowsAnError() throws InterruptedException {
        MainActivity a = launch(new Intent()).get();
        generate(a, "ftp://127.0.0.1:1", TOKEN);
        String error = a.errorView().getText().toString();
        assertTrue(error, error.startsWith("invalid setting: server must be an http(s) URL"));
    }
}
