package dev.splitllm.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.cloud.ServerConfig;
import dev.splitllm.optimizer.profile.LinkProfile;
import dev.splitllm.optimizer.profile.Units;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * serve's and edge's size and duration flags read the same strings as plan's (--memory,
 * --token-latency, --ttft and --rtt call {@link Units} directly): one grammar, no "5m".
 */
class UnitsOptionsTest {

    private static ServerConfig serve(String... args) {
        CommandLine cl = Main.newCommandLine();
        String[] all = new String[args.length + 3];
        all[0] = "serve";
        all[1] = "--token";
        all[2] = "t";
        System.arraycopy(args, 0, all, 3, args.length);
        CommandLine.ParseResult pr = cl.parseArgs(all);
        ServeCommand s = (ServeCommand) pr.subcommand().commandSpec().userObject();
        return s.config();
    }

    @Test
    void serveAndPlanReadTheSameStringsAlike() {
        for (String size : new String[] {"48MB", "48MiB", "1.5GiB", "512mb", "4096"}) {
            ServerConfig c = serve("--max-kv", size, "--max-frame", size);
            assertEquals(Units.parseBytes(size), c.maxKvBytes(), size); // plan --memory
            assertEquals(Units.parseBytes(size), c.maxFrameBytes(), size);
        }
        for (String time : new String[] {"250ms", "1.5s", "1.5min", "1h"}) {
            Duration idle = serve("--idle-timeout", time).idleTimeout();
            assertEquals(Math.round(Units.parseMillis(time)), idle.toMillis(), time); // plan --token-latency, --ttft
            assertEquals(Units.parseMillis(time), LinkProfile.parse("10mbit", "10mbit", time).rttMs(), time); // plan --rtt
        }
        assertEquals(Duration.ofMinutes(5), serve().idleTimeout(), "the default, 5min");
        assertEquals(512_000_000L, serve().maxKvBytes(), "the default, 512MB");
    }

    @Test
    void edgeStepTimeoutUsesTheSameGrammar() {
        CommandLine.ParseResult pr = Main.newCommandLine().parseArgs("edge", "--server", "http://127.0.0.1:1", "--step-timeout", "1.5min");
        EdgeCommand e = (EdgeCommand) pr.subcommand().commandSpec().userObject();
        assertEquals(Duration.ofSeconds(90), e.split.edgeOptions(URI.create("http://127.0.0.1:1"), "t").stepTimeout());
    }

    @Test
    void oldSpellingsAreUsageErrorsThatSayWhatToWrite() {
        Run r = Run.of("serve", "--token", "t", "--idle-timeout", "5m");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("write 5min for minutes or 5ms for milliseconds"), r.toString());
        r = Run.of("serve", "--token", "t", "--idle-timeout", "300");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("duration '300' has no unit: write 300ms or 300s"), r.toString());
        r = Run.of("serve", "--token", "t", "--max-kv", "512M");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("write 512MB (powers of 1000) or 512MiB (powers of 1024)"), r.toString());
    }
}
