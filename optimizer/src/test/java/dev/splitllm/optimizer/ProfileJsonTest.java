package dev.splitllm.optimizer;

import static org.junit.jupiter.api.Assertions.*;

import dev.splitllm.optimizer.profile.CalibrationTable;
import dev.splitllm.optimizer.profile.Curve;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.LinkProfile;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.optimizer.profile.Units;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Profile files round-trip and bad ones are rejected; link rates, durations and sizes parse. */
class ProfileJsonTest {
    @TempDir
    Path dir;

    @Test
    void profilesRoundTrip() throws IOException {
        DeviceProfile d = RandomInstances.profile(new Random(3), "laptop", PlannerTest.STORIES, 1.5);
        Path f = dir.resolve("device.json");
        ProfileJson.write(f, d);
        assertEquals(d, ProfileJson.readDevice(f));
        assertEquals(ProfileJson.fingerprint(d), ProfileJson.fingerprint(ProfileJson.readDevice(f)));
        CalibrationTable c = PlannerTest.calibration();
        ProfileJson.write(f, c);
        assertEquals(c, ProfileJson.readCalibration(f));
        LinkProfile l = LinkProfile.parse("10mbit", "1gbit", "50ms");
        ProfileJson.write(f, l);
        assertEquals(l, ProfileJson.readLink(f));
    }

    @Test
    void badProfilesAreRejected() {
        String good = ProfileJson.toJson(LinkProfile.parse("10mbit", "20mbit", "5ms"));
        assertMessage(() -> ProfileJson.parse(good.replace("splitllm.link-profile/1", "v0"), LinkProfile.class, "link profile"),
                "schema must be \"splitllm.link-profile/1\"");
        assertMessage(() -> ProfileJson.parse(good.replace("\"rttMs\"", "\"rtt\""), LinkProfile.class, "link profile"), "rtt");
        assertMessage(() -> ProfileJson.parse(good.replace("\"uplinkBps\" : 1.0E7", "\"uplinkBps\" : -1"), LinkProfile.class, "link profile"),
                "rates must be in");
        String dev = ProfileJson.toJson(RandomInstances.profile(new Random(4), "x", PlannerTest.STORIES, 1));
        assertMessage(() -> ProfileJson.parse(dev.replaceFirst("\"format\" : \"f32\"", "\"format\" : \"q2_k\""), DeviceProfile.class, "device profile"),
                "unknown weight format 'q2_k'");
        assertMessage(() -> ProfileJson.parse(dev.replaceFirst("\"model\" : \\{", "\"modelx\" : {"), DeviceProfile.class, "device profile"),
                "device profile");
        assertMessage(() -> ProfileJson.parse(dev.replaceFirst("\"headMs\" :", "\"headMsX\" :"), DeviceProfile.class, "device profile"),
                "at formats[0].headMs: missing field 'headMs'");
        assertMessage(() -> ProfileJson.parse(dev.replaceFirst("\"derived\" : false,", ""), DeviceProfile.class, "device profile"),
                "missing field 'derived'");
        String cal = ProfileJson.toJson(PlannerTest.calibration());
        assertMessage(() -> ProfileJson.parse(cal.replaceFirst("\"split\" : 5", "\"split\" : 6"), CalibrationTable.class, "calibration"),
                "point at split 6 but the model has only 6 layers");
        assertMessage(() -> ProfileJson.parse(cal.replaceFirst("\"agreement\" : 0.995", "\"agreement\" : 1.2"), CalibrationTable.class, "calibration"),
                "agreement must be in [0, 1]");
    }

    @Test
    void oversizedFilesAreRefusedUnread() throws IOException {
        Path f = dir.resolve("huge.json");
        Files.write(f, new byte[(int) ProfileJson.MAX_BYTES + 1]);
        assertMessage(() -> ProfileJson.readDevice(f), "more than the");
    }

    @Test
    void linkRatesAndDurationsParse() {
        assertEquals(10e6, Units.parseRate("10mbit"));
        assertEquals(1e9, Units.parseRate("1gbit"));
        assertEquals(512e3, Units.parseRate("512kbit"));
        assertEquals(2.5e6, Units.parseRate("2.5Mbit"));
        assertEquals(1200, Units.parseRate("1200"));
        assertEquals(50, Units.parseMillis("50ms"));
        assertEquals(1500, Units.parseMillis("1.5s"));
        assertEquals(0.25, Units.parseMillis("250us"));
        assertEquals(0, Units.parseMillis("0"));
        assertEquals(48_000_000, Units.parseBytes("48MB"));
        assertEquals(48L << 20, Units.parseBytes("48MiB"));
        assertEquals(2_000_000_000L, Units.parseBytes("2GB"));
        LinkProfile l = LinkProfile.parse("10mbit", "50mbit", "40ms");
        assertEquals(10e6, l.uplinkBps());
        assertEquals(50e6, l.downlinkBps());
        assertEquals(40, l.rttMs());
        assertEquals(8.0, l.uplinkMs(80_000), 1e-12);
        assertEquals("up 10 Mbit/s, down 50 Mbit/s, RTT 40.0 ms", l.describe());
    }

    @Test
    void badUnitsAreRejected() {
        assertMessage(() -> Units.parseRate("10mbps"), "unknown rate unit 'mbps'");
        assertMessage(() -> Units.parseRate("fast"), "cannot parse rate 'fast'");
        assertMessage(() -> Units.parseRate("-5mbit"), "cannot parse rate");
        assertMessage(() -> Units.parseRate("0mbit"), "must be > 0");
        assertMessage(() -> Units.parseRate(""), "empty rate");
        assertMessage(() -> Units.parseMillis("50 mins"), "unknown duration unit 'mins'");
        assertMessage(() -> Units.parseMillis("5m"), "ambiguous duration unit 'm'");
        assertMessage(() -> Units.parseMillis("5h"), "must be in [0, 1h]");
        assertMessage(() -> Units.parseMillis("99999s"), "must be in [0, 1h]");
        assertMessage(() -> Units.parseBytes("48 MBytes"), "unknown size unit");
        assertMessage(() -> LinkProfile.parse("10mbit", "x", "5ms"), "cannot parse rate 'x'");
    }

    @Test
    void curvesInterpolateAndExtrapolate() {
        Curve c = new Curve(new double[] {16, 64, 128}, new double[] {1, 4, 8});
        assertEquals(1, c.at(16));
        assertEquals(2.5, c.at(40), 1e-12);
        assertEquals(12, c.at(192), 1e-12);
        assertEquals(0.25, c.at(4), 1e-12);
        assertEquals(0, new Curve(new double[] {10, 20}, new double[] {5, 1}).at(100)); // never below 0
        assertEquals(6, new Curve(new double[] {2}, new double[] {3}).at(4), 1e-12);
        assertMessage(() -> new Curve(new double[] {2, 1}, new double[] {1, 1}), "strictly increasing");
        assertMessage(() -> new Curve(new double[] {1}, new double[] {Double.NaN}), "finite");
        assertMessage(() -> new Curve(new double[70], new double[70]), "1..64 points");
    }

    static void assertMessage(org.junit.jupiter.api.function.Executable e, String fragment) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage() != null && ex.getMessage().contains(fragment), "message '" + ex.getMessage() + "' should mention '" + fragment + "'");
    }
}
