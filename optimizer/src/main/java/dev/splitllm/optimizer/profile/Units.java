package dev.splitllm.optimizer.profile;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the human units of link and memory flags: rates ("10mbit", "1gbit", "512kbit",
 * "2500000" = bit/s; decimal prefixes as in tc), durations ("50ms", "1.5s", "250us", "0") and
 * sizes ("48MB" = 48e6 B, "48MiB" = 48 * 2^20 B, "1GB", "4096" = bytes). Every parser rejects
 * negative, non-finite, unit-less-where-ambiguous or out-of-range input with a message that
 * names the text and the accepted forms.
 */
public final class Units {
    private Units() {}

    private static final Pattern NUMBER_UNIT = Pattern.compile("^\\s*([0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\\s*([a-zA-Z/]*)\\s*$");

    /** Largest accepted rate: 10 Tbit/s. */
    public static final double MAX_RATE = 1e13;
    /** Largest accepted duration: one hour. */
    public static final double MAX_MS = 3_600_000;

    /** A rate in bits per second. */
    public static double parseRate(String text) {
        Matcher m = match(text, "rate", "10mbit, 1gbit, 512kbit or a number of bit/s");
        double v = Double.parseDouble(m.group(1));
        String u = m.group(2).toLowerCase(Locale.ROOT);
        double mul;
        switch (u) {
            case "": case "bit": case "bps": case "bit/s": mul = 1; break;
            case "kbit": case "kbit/s": case "kb/s": mul = 1e3; break;
            case "mbit": case "mbit/s": case "mb/s": mul = 1e6; break;
            case "gbit": case "gbit/s": case "gb/s": mul = 1e9; break;
            default:
                throw new IllegalArgumentException("unknown rate unit '" + m.group(2) + "' in '" + text
                        + "' (expected bit, kbit, mbit or gbit, e.g. 10mbit)");
        }
        double r = v * mul;
        if (!(r > 0) || r > MAX_RATE) {
            throw new IllegalArgumentException("rate '" + text + "' must be > 0 and at most 10gbit*1000 (got " + r + " bit/s)");
        }
        return r;
    }

    /** A duration in milliseconds ("50ms", "1.5s", "250us"; a bare number means milliseconds). */
    public static double parseMillis(String text) {
        Matcher m = match(text, "duration", "50ms, 1.5s, 250us");
        double v = Double.parseDouble(m.group(1));
        String u = m.group(2).toLowerCase(Locale.ROOT);
        double ms;
        switch (u) {
            case "": case "ms": ms = v; break;
            case "s": ms = v * 1000; break;
            case "us": ms = v / 1000; break;
            default:
                throw new IllegalArgumentException("unknown duration unit '" + m.group(2) + "' in '" + text
                        + "' (expected ms, s or us, e.g. 50ms)");
        }
        if (!(ms >= 0) || ms > MAX_MS) {
            throw new IllegalArgumentException("duration '" + text + "' must be in [0, 1h]");
        }
        return ms;
    }

    /** A size in bytes ("48MB" decimal, "48MiB" binary, "1GB", "4096"). */
    public static long parseBytes(String text) {
        Matcher m = match(text, "size", "48MB, 48MiB, 1GB or a number of bytes");
        double v = Double.parseDouble(m.group(1));
        String u = m.group(2).toLowerCase(Locale.ROOT);
        double mul;
        switch (u) {
            case "": case "b": mul = 1; break;
            case "kb": mul = 1e3; break;
            case "mb": mul = 1e6; break;
            case "gb": mul = 1e9; break;
            case "tb": mul = 1e12; break;
            case "kib": mul = 1L << 10; break;
            case "mib": mul = 1L << 20; break;
            case "gib": mul = 1L << 30; break;
            case "tib": mul = 1L << 40; break;
            default:
                throw new IllegalArgumentException("unknown size unit '" + m.group(2) + "' in '" + text
                        + "' (expected B, KB, MB, GB, KiB, MiB or GiB)");
        }
        double b = v * mul;
        if (!(b > 0) || b > 1e15) {
            throw new IllegalArgumentException("size '" + text + "' must be > 0 and at most 1 PB");
        }
        return Math.round(b);
    }

    /** "10 Mbit/s"-style text for a rate in bit/s. */
    public static String formatRate(double bps) {
        if (bps >= 1e9) return trim(bps / 1e9) + " Gbit/s";
        if (bps >= 1e6) return trim(bps / 1e6) + " Mbit/s";
        if (bps >= 1e3) return trim(bps / 1e3) + " kbit/s";
        return trim(bps) + " bit/s";
    }

    /** Bytes as MB (10^6) with one decimal, e.g. "61.2 MB". */
    public static String formatMB(double bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private static String trim(double v) {
        String s = String.format(Locale.ROOT, "%.3f", v);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    private static Matcher match(String text, String what, String examples) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty " + what + " (expected e.g. " + examples + ")");
        }
        if (text.length() > 64) {
            throw new IllegalArgumentException(what + " text too long (" + text.length() + " characters)");
        }
        Matcher m = NUMBER_UNIT.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("cannot parse " + what + " '" + text + "' (expected e.g. " + examples + ")");
        }
        return m;
    }
}
