package dev.splitllm.cli;

import dev.splitllm.optimizer.Profiler;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.LinkProfile;
import dev.splitllm.optimizer.profile.ProfileJson;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code splitllm profile}: a device profile of this machine, or a link profile. */
@Command(name = "profile", mixinStandardHelpOptions = true,
        description = {"Measure this machine for the planner: per-block prefill and decode latency at each weight format,",
                "LM-head time, codec encode/decode time vs T, resident bytes -> a device profile (JSON). Run it once on the",
                "edge device and once on the cloud host. With --link, measure the link instead: against a running server's",
                "/v1/probe (--server, --token), or from flags (--uplink, --downlink, --rtt) -> a link profile (JSON)."},
        footer = {"", "Example:", "  ./splitllm profile --name laptop --out edge.json",
                "  ./splitllm profile --link --server http://127.0.0.1:8080 --token secret --name lan --out link.json",
                "  ./splitllm profile --link --uplink 10mbit --downlink 50mbit --rtt 50ms --name lte --out link.json"})
public final class ProfileCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    SharedOptions shared;

    @Option(names = "--name", required = true, description = "Label stored in the profile.")
    String name;

    @Option(names = "--out", required = true, description = "Output JSON file.")
    Path out;

    @Option(names = "--formats", split = ",", defaultValue = "f32,q8_0,q4_0", description = "Weight formats to time (default: ${DEFAULT-VALUE}).")
    List<String> formats;

    @Option(names = "--codecs", split = ";", defaultValue = "fp16;q8_0;" + SplitOptions.DEFAULT_CODEC,
            description = "Codec settings to time, ';'-separated (default: ${DEFAULT-VALUE}).")
    List<String> codecs;

    @Option(names = "--reps", defaultValue = "3", description = "Timed repetitions per figure; the median is kept (default: ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--link", description = "Profile the link instead of this machine.")
    boolean link;

    @Option(names = "--server", description = "With --link: cloud server URL to probe.")
    String server;

    @Option(names = "--token", description = "With --server: bearer token (default: SPLITLLM_TOKEN).")
    String token;

    @Option(names = "--probe-bytes", defaultValue = "262144", description = "With --server: bytes per timed transfer (default: ${DEFAULT-VALUE}).")
    int probeBytes;

    @Option(names = "--uplink", description = "With --link and no --server: uplink rate, e.g. 10mbit.")
    String uplink;

    @Option(names = "--downlink", description = "With --link and no --server: downlink rate (default: the uplink's).")
    String downlink;

    @Option(names = "--rtt", description = "With --link and no --server: round-trip time, e.g. 50ms.")
    String rtt;

    @Override
    public Integer call() throws IOException {
        PrintWriter o = spec.commandLine().getOut();
        if (link) {
            LinkProfile lp = linkProfile();
            ProfileJson.write(out, lp);
            o.println("link profile " + lp.describe() + " -> " + out);
            return 0;
        }
        List<WeightFormat> fs = new ArrayList<>();
        for (String f : formats) {
            try {
                fs.add(WeightFormat.parse(f));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--formats: " + e.getMessage());
            }
        }
        ModelLoader.ModelPaths paths = ModelLoader.resolve(shared, System.err);
        shared.describeKernels(spec.commandLine().getErr());
        DeviceProfile p;
        try {
            p = Profiler.run(paths.model(), name, fs, shared.threads(), reps, codecs);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        ProfileJson.write(out, p);
        o.println("device profile '" + name + "' -> " + out);
        return 0;
    }

    private LinkProfile linkProfile() throws IOException {
        try {
            if (server != null) {
                String tok = token != null ? token : System.getenv("SPLITLLM_TOKEN");
                if (tok == null || tok.isBlank()) throw new ParameterException(spec.commandLine(), "--server needs --token or SPLITLLM_TOKEN");
                if (probeBytes < 1024 || probeBytes > (1 << 20)) throw new ParameterException(spec.commandLine(), "--probe-bytes must be in 1024..1048576");
                return new HttpLinkProbe(URI.create(server), tok, name, probeBytes).measure();
            }
            if (uplink == null || rtt == null) {
                throw new ParameterException(spec.commandLine(), "--link needs --server, or --uplink and --rtt");
            }
            LinkProfile lp = LinkProfile.parse(uplink, downlink != null ? downlink : uplink, rtt);
            return new LinkProfile(lp.schema(), name, lp.uplinkBps(), lp.downlinkBps(), lp.rttMs(), lp.source());
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
