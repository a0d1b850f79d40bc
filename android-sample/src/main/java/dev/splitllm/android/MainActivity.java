package dev.splitllm.android;

import android.app.Activity;
import android.content.Intent;
import android.graphics.Color;
import android.os.Bundle;
import android.os.Handler;
import android.os.Looper;
import android.text.InputType;
import android.view.View;
import android.widget.Button;
import android.widget.EditText;
import android.widget.LinearLayout;
import android.widget.ScrollView;
import android.widget.TextView;
import java.io.File;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The sample's only screen: prompt, server URL and token fields, a Generate button, the story
 * as it streams in, and a stats line. Views are built in code (no resources). Model loading and
 * every network call run on one worker thread; results come back through a main-thread
 * {@link Handler}. Destroying the activity cancels the generation, which closes its session,
 * and then releases the model.
 *
 * <p>Intent extras: {@code modelDir} (default: the app's files directory), {@code split}
 * (front blocks on the device, default 3), {@code maxTokens} (default 64), {@code threads}
 * (default 2), {@code server}, {@code token} and {@code prompt} (initial field values).
 */
public final class MainActivity extends Activity {
    static final String EXTRA_MODEL_DIR = "modelDir";
    static final String EXTRA_SPLIT = "split";
    static final String EXTRA_MAX_TOKENS = "maxTokens";
    static final String EXTRA_THREADS = "threads";
    static final String EXTRA_SERVER = "server";
    static final String EXTRA_TOKEN = "token";
    static final String EXTRA_PROMPT = "prompt";

    private final Handler ui = new Handler(Looper.getMainLooper());
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "splitllm-edge");
        t.setDaemon(true);
        return t;
    });
    private ModelSlot model;
    private int maxTokens;
    private StoryRun current;
    private Future<?> currentTask;

    private EditText prompt;
    private EditText server;
    private EditText token;
    private Button generate;
    private TextView kernels;
    private TextView story;
    private TextView stats;
    private TextView error;

    @Override
    protected void onCreate(Bundle saved) {
        super.onCreate(saved);
        Intent in = getIntent();
        String dir = in.getStringExtra(EXTRA_MODEL_DIR);
        ModelFiles files = new ModelFiles(dir == null ? getFilesDir() : new File(dir));
        model = new ModelSlot(files, in.getIntExtra(EXTRA_SPLIT, 3), in.getIntExtra(EXTRA_THREADS, 2));
        maxTokens = in.getIntExtra(EXTRA_MAX_TOKENS, 64);

        LinearLayout column = new LinearLayout(this);
        column.setOrientation(LinearLayout.VERTICAL);
        int pad = (int) (12 * getResources().getDisplayMetrics().density);
        column.setPadding(pad, pad, pad, pad);

        prompt = field(column, "Prompt", orDefault(in.getStringExtra(EXTRA_PROMPT), "Once upon a time"),
                InputType.TYPE_CLASS_TEXT | InputType.TYPE_TEXT_FLAG_MULTI_LINE);
        // 10.0.2.2 is the host machine as seen from the Android emulator.
        server = field(column, "Cloud server URL", orDefault(in.getStringExtra(EXTRA_SERVER), "http://10.0.2.2:8080"),
                InputType.TYPE_CLASS_TEXT | InputType.TYPE_TEXT_VARIATION_URI);
        token = field(column, "Bearer token", orDefault(in.getStringExtra(EXTRA_TOKEN), ""),
                InputType.TYPE_CLASS_TEXT | InputType.TYPE_TEXT_VARIATION_PASSWORD);

        generate = new Button(this);
        generate.setText("Generate");
        generate.setOnClickListener(v -> startGeneration());
        column.addView(generate);

        kernels = text(column, "model files: " + files.dir());
        error = text(column, "");
        error.setTextColor(Color.RED);
        error.setVisibility(View.GONE);
        story = text(column, "");
        story.setTextSize(18);
        stats = text(column, "");

        ScrollView scroll = new ScrollView(this);
        scroll.addView(column);
        setContentView(scroll);
    }

    /** Starts a generation with the fields' values; ignored while one is running. */
    void startGeneration() {
        if (current != null) return;
        String p = prompt.getText().toString();
        story.setText(p);
        stats.setText("");
        error.setText("");
        error.setVisibility(View.GONE);
        generate.setEnabled(false);
        StoryRun run = new StoryRun(model, p, server.getText().toString(), token.getText().toString(), maxTokens,
                new MainThreadView());
        current = run;
        currentTask = worker.submit(run);
    }

    /** To the background: the cloud finishes the story alone (the tokens keep coming while the process lives). */
    @Override
    protected void onStop() {
        if (current != null) current.handOff();
        super.onStop();
    }

    /** Memory pressure: the edge gives its KV to the cloud (the cut moves toward it) rather than be killed. */
    @Override
    public void onTrimMemory(int level) {
        if (current != null && level >= TRIM_MEMORY_RUNNING_LOW) current.memoryBudget(0);
        super.onTrimMemory(level);
    }

    @Override
    protected void onDestroy() {
        if (current != null) {
            current.cancel();
            currentTask.cancel(true); // interrupts a wait for the cloud; the run closes its session
        }
        ModelSlot m = model;
        worker.execute(m::close); // after the run has finished
        worker.shutdown();
        super.onDestroy();
    }

    /**
     * Waits until the worker has finished what was submitted so far (all its UI updates are then
     * posted to the main looper), or, after {@link #onDestroy}, until it has stopped. For tests and instrumentation; never call it on the main thread
     * of a real device.
     */
    boolean awaitWorker(long timeout, TimeUnit unit) throws InterruptedException {
        if (worker.isShutdown()) {
            return worker.awaitTermination(timeout, unit);
        }
        Future<?> f = worker.submit(() -> { });
        try {
            f.get(timeout, unit);
            return true;
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e);
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        }
    }

    TextView storyView() {
        return story;
    }

    TextView statsView() {
        return stats;
    }

    TextView errorView() {
        return error;
    }

    TextView kernelsView() {
        return kernels;
    }

    EditText promptField() {
        return prompt;
    }

    EditText serverField() {
        return server;
    }

    EditText tokenField() {
        return token;
    }

    Button generateButton() {
        return generate;
    }

    private void finishRun() {
        current = null;
        currentTask = null;
        generate.setEnabled(true);
    }

    private EditText field(LinearLayout parent, String label, String value, int inputType) {
        text(parent, label);
        EditText e = new EditText(this);
        e.setInputType(inputType);
        e.setText(value);
        parent.addView(e);
        return e;
    }

    private TextView text(LinearLayout parent, String value) {
        TextView t = new TextView(this);
        t.setText(value);
        parent.addView(t);
        return t;
    }

    private static String orDefault(String v, String d) {
        return v == null ? d : v;
    }

    /** Hands a run's reports to the main thread, dropping them once the activity is destroyed. */
    private final class MainThreadView implements StoryView {
        @Override
        public void started(String kernelsLine) {
            onUi(() -> kernels.setText(kernelsLine));
        }

        @Override
        public void token(String piece, String statsLine) {
            onUi(() -> {
                story.append(piece);
                stats.setText(statsLine);
            });
        }

        @Override
        public void finished(String summary) {
            onUi(() -> {
                stats.append("\n" + summary);
                finishRun();
            });
        }

        @Override
        public void failed(String message) {
            onUi(() -> {
                error.setText(message);
                error.setVisibility(View.VISIBLE);
                finishRun();
            });
        }

        private void onUi(Runnable r) {
            ui.post(() -> {
                if (!isDestroyed()) r.run();
            });
        }
    }
}
