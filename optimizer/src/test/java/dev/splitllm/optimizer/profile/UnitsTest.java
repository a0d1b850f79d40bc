package dev.splitllm.optimizer.profile;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The one unit grammar (see {@link Units}), including the spellings two older parsers read differently. */
class UnitsTest {

    @Test
    void sizes() {
        assertEquals(4096, Units.parseBytes("4096"));
        assertEquals(4096, Units.parseBytes("4096B"));
        assertEquals(48_000_000, Units.parseBytes("48MB"));
        assertEquals(48L << 20, Units.parseBytes("48MiB"));
        assertEquals(1_500, Units.parseBytes("1.5kB"));
        assertEquals(1536, Units.parseBytes("1.5KiB"));
        assertEquals(3L << 29, Units.parseBytes("1.5GiB"));
        assertEquals(2_000_000_000L, Units.parseBytes("2 GB"));
        assertEquals(1L << 40, Units.parseBytes("1TiB"));
        // Case-insensitive: a size has no bit unit for "mb" to be confused with.
        assertEquals(Units.parseBytes("512MB"), Units.parseBytes("512mb"));
        assertEquals(Units.parseBytes("512MiB"), Units.parseBytes("512mib"));
    }

    @Test
    void sizeErrorsNameTheValueAndTheForms() {
        // The old cli parser read "512M" as 512e6 bytes; a bare prefix is now refused.
        assertMessage(() -> Units.parseBytes("512M"), "unknown size unit 'M' in '512M': write 512MB (powers of 1000) or 512MiB");
        assertMessage(() -> Units.parseBytes("2g"), "write 2GB");
        assertMessage(() -> Units.parseBytes("48 MBytes"), "unknown size unit 'MBytes' in '48 MBytes' (expected a number then B, KB");
        assertMessage(() -> Units.parseBytes("0"), "size '0' must be > 0");
        assertMessage(() -> Units.parseBytes("-1MB"), "cannot parse size '-1MB'");
        assertMessage(() -> Units.parseBytes("2PB"), "unknown size unit 'PB'");
        assertMessage(() -> Units.parseBytes(" "), "empty size");
    }

    @Test
    void rates() {
        assertEquals(1200, Units.parseRate("1200"));
        assertEquals(1200, Units.parseRate("1200bit/s"));
        assertEquals(512e3, Units.parseRate("512kbit"));
        assertEquals(10e6, Units.parseRate("10mbit"));
        assertEquals(10e6, Units.parseRate("10Mbit/s"));
        assertEquals(2.5e9, Units.parseRate("2.5gbit"));
        // Bytes per second are 8 bits each.
        assertEquals(8e6, Units.parseRate("1MB/s"));
        assertEquals(8e3, Units.parseRate("1kB/s"));
        assertEquals(8e3, Units.parseRate("1KB/s"));
        assertEquals(8.0 * (1 << 20), Units.parseRate("1MiB/s"));
        assertEquals(Units.parseRate("80mbit"), Units.parseRate("10MB/s"));
    }

    @Test
    void bitOrByteRateSpellingsAreRefused() {
        // "kb/s" used to mean kilobits here, while "KB/s" means kilobytes to most readers: neither is guessed.
        assertMessage(() -> Units.parseRate("64kb/s"), "unknown rate unit 'kb/s' in '64kb/s': bits or bytes? write 64kbit for"
                + " bits per second or 64KB/s for bytes per second");
        assertMessage(() -> Units.parseRate("10Mb/s"), "write 10mbit for bits per second or 10MB/s");
        assertMessage(() -> Units.parseRate("10mbps"), "unknown rate unit 'mbps'");
        assertMessage(() -> Units.parseRate("10MBps"), "bits or bytes?");
        assertMessage(() -> Units.parseRate("10 furlongs"), "unknown rate unit 'furlongs' in '10 furlongs' (expected a number then bit");
        assertMessage(() -> Units.parseRate("0mbit"), "must be > 0");
        assertMessage(() -> Units.parseRate("20tbit"), "at most 10 Tbit/s");
        assertMessage(() -> Units.parseRate("fast"), "cannot parse rate 'fast'");
    }

    @Test
    void durations() {
        assertEquals(0.25, Units.parseMillis("250us"));
        assertEquals(40, Units.parseMillis("40ms"));
        assertEquals(40, Units.parseMillis("40 MS"));
        assertEquals(1500, Units.parseMillis("1.5s"));
        assertEquals(90_000, Units.parseMillis("1.5min"));
        assertEquals(3_600_000, Units.parseMillis("1h"));
        assertEquals(0, Units.parseMillis("0"));
        assertEquals(Duration.ofMinutes(5), Units.parseDuration("5min"));
        assertEquals(Duration.ofSeconds(30), Units.parseDuration("30s"));
        assertEquals(Duration.ofHours(2), Units.parseDuration("2h"));
        assertEquals(Duration.ofMillis(300), Units.parseDuration("300ms"));
        assertEquals(Duration.ZERO, Units.parseDuration("0"));
    }

    @Test
    void ambiguousDurationsAreRefused() {
        // "5m" meant five minutes to serve and was an unknown unit to plan.
        assertMessage(() -> Units.parseDuration("5m"), "ambiguous duration unit 'm' in '5m': write 5min for minutes or 5ms for milliseconds");
        assertMessage(() -> Units.parseMillis("5m"), "write 5min for minutes or 5ms");
        // A bare number was seconds to serve and milliseconds to plan.
        assertMessage(() -> Units.parseDuration("30"), "duration '30' has no unit: write 30ms or 30s");
        assertMessage(() -> Units.parseMillis("40"), "duration '40' has no unit");
        assertMessage(() -> Units.parseMillis("3 days"), "unknown duration unit 'days' in '3 days' (expected a number then us, ms, s, min or h");
        assertMessage(() -> Units.parseMillis("2h"), "must be in [0, 1h]");
        assertMessage(() -> Units.parseDuration("25h"), "must be in [0, 24h]");
        assertMessage(() -> Units.parseDuration("-5s"), "cannot parse duration '-5s'");
    }

    @Test
    void latencyAndTimeoutParsersAgree() {
        // plan's --token-latency/--ttft/--rtt go through parseMillis, serve's and edge's timeouts through parseDuration.
        for (String s : new String[] {"0", "250us", "40ms", "1.5s", "2 min", "0.5h", "1h"}) {
            assertEquals(Math.round(Units.parseMillis(s)), Units.parseDuration(s).toMillis(), s);
        }
        for (String s : new String[] {"5m", "30", "5 sec", "1d"}) {
            IllegalArgumentException a = assertThrows(IllegalArgumentException.class, () -> Units.parseMillis(s));
            IllegalArgumentException b = assertThrows(IllegalArgumentException.class, () -> Units.parseDuration(s));
            assertEquals(a.getMessage(), b.getMessage(), s);
        }
    }

    private static void assertMessage(Executable call, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' lacks '" + fragment + "'");
    }
}
