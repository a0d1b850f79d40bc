package dev.splitllm.cli;

import dev.splitllm.engine.fetch.FetchListener;
import dev.splitllm.engine.fetch.FetchStep;
import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows model-fetch progress as one progress bar per step (npm pack, extract, slice,
 * verify). On a terminal the bar redraws in place; otherwise (logs, CI) it prints a plain line
 * every few seconds.
 */
public final class ProgressBarListener implements FetchListener {
    private static final long MB = 1L << 20;

    private final PrintStream err;
    private final boolean interactive;
    private final boolean showNotes;
    private ProgressBar bar;

    /**
     * @param err       where bars and notes go
     * @param showNotes whether notes such as "model present in DIR" are printed too
     */
    public ProgressBarListener(PrintStream err, boolean showNotes) {
        this.err = err;
        this.interactive = System.console() != null;
        this.showNotes = showNotes;
    }

    @Override
    public void started(FetchStep step, long totalBytes) {
        closeBar();
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(String.format("%-8s", step.label()))
                .setStyle(ProgressBarStyle.ASCII).setInitialMax(totalBytes).setMaxRenderedLength(100);
        if (totalBytes > 0) {
            b.setUnit(" MiB", MB).showSpeed();
        } else {
            b.hideEta();
        }
        if (interactive) {
            b.setConsumer(new ConsoleProgressBarConsumer(err)).setUpdateIntervalMillis(200);
        } else {
            b.setConsumer(new DelegatingProgressBarConsumer(err::println)).setUpdateIntervalMillis(5000);
        }
        bar = b.build();
    }

    @Override
    public void progress(FetchStep step, long doneBytes) {
        if (bar != null) {
            bar.stepTo(doneBytes);
        }
    }

    @Override
    public void finished(FetchStep step) {
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
