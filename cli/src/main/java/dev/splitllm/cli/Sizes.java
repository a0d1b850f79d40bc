package dev.splitllm.cli;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses human-friendly sizes ("512MB", "1.5GiB", "4096") and durations ("300ms", "5s", "2m"). */
public final class Sizes {
    private Sizes() {}

    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]?i?b?)?", Pattern.CASE_INSENSITIVE);
    private static final Pattern TIME = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?", Pattern.CASE_INSENSITIVE);

    /** Bytes; decimal (MB = 10^6) and binary (MiB = 2^20) units. */
    public static long bytes(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: '" + text + "' (examples: 4096, 48MB, 1.5GiB)");
        }
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "" : m.group(2).toLowerCase(Locale.ROOT);
        boolean binary = unit.contains("i");
        double base = binary ? 1024 : 1000;
        int power = unit.isEmpty() ? 0 : "bkmgt".indexOf(unit.charAt(0));
        double bytes = v * Math.pow(base, Math.max(power, 0));
        if (bytes > Long.MAX_VALUE / 2) {
            throw new IllegalArgumentException("size too large: " + text);
        }
        return Math.round(bytes);
    }

    public static Duration duration(String text) {
        Matcher m = TIME.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration: '" + text + "' (examples: 300ms, 30s, 5m)");
        }
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2).toLowerCase(Locale.ROOT);
        double millis = switch (unit) {
            case "ms" -> v;
            case "s" -> v * 1000;
            case "m" -> v * 60_000;
            default -> v * 3_600_000;
        };
        return Duration.ofMillis(Math.round(millis));
    }
}
