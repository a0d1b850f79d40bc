package dev.splitllm.cli;

import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.MoveController;
import dev.splitllm.edge.MoveEvent;
import dev.splitllm.edge.MoveOptions;
import dev.splitllm.quantization.kv.KvSpec;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine.Option;

/** Moving the cut mid-session (issue 14): scripted moves, the adaptive controller, the KV kind. */
final class MoveCliOptions {
    @Option(names = "--move", paramLabel = "FROM:TO@STEP,...",
            description = "Move the cut mid-session before the given steps, e.g. 3:1@20,1:5@60 (the first FROM is --split).")
    String script;

    @Option(names = "--adaptive",
            description = "Let the controller move the cut when its cost model predicts a gain over the rest of the generation"
                    + " larger than twice the move's cost (8 steps at least between moves).")
    boolean adaptive;

    @Option(names = "--move-kv", paramLabel = "KIND", defaultValue = "fp32",
            description = "KV kind moves ship: fp32 (lossless) or kivi:bits=2|4|8[,window=W][,group=G] (default: ${DEFAULT-VALUE}).")
    String kv;

    @Option(names = "--move-down", paramLabel = "MODE", defaultValue = "auto",
            description = "Blocks coming down to the edge: transfer (the cloud sends their KV), recompute (the edge rebuilds it"
                    + " from the tokens) or auto (the cost model picks; default).")
    String down;

    @Option(names = "--mirror", paramLabel = "KIND[@EVERY][/BYTES]",
            description = "Mirror the edge's KV to the cloud as it grows, in frames of EVERY positions (default 16), at most BYTES per"
                    + " token on average, e.g. fp32@8 or kivi:bits=8@16/2000: a hand-off or a move toward the cloud then ships only"
                    + " the positions not yet mirrored.")
    String mirror;

    @Option(names = "--handoff-at", paramLabel = "N",
            description = "Hand the generation to the cloud once N tokens are in (as an app going to the background does): the"
                    + " cloud goes on alone and its tokens keep streaming here.")
    Integer handOffAt;

    @Option(names = "--detach-at", paramLabel = "N",
            description = "Leave once N tokens are in without deleting the cloud session (as an app whose process is killed);"
                    + " prints the session id for --restore. With --handoff-at, the cloud finishes alone meanwhile.")
    Integer detachAt;

    @Option(names = "--link-profile", paramLabel = "FILE",
            description = "The planner's link profile (profile --link): the controller's round trip and rates until the session"
                    + " has measured its own.")
    java.nio.file.Path linkProfile;

    @Option(names = "--edge-profile", paramLabel = "FILE",
            description = "The planner's profile of this device (profile): the controller's edge compute per block until measured.")
    java.nio.file.Path edgeProfile;

    @Option(names = "--cloud-profile", paramLabel = "FILE",
            description = "The planner's profile of the cloud: the controller's cloud compute per block until measured.")
    java.nio.file.Path cloudProfile;

    /**
     * Starts the session's cost model from the planner's profiles (the same files {@code plan} read),
     * so the controller re-plans with the planner's figures from the first step; each figure is then
     * replaced by what the session measures. {@code edgeFormat}/{@code cloudFormat}: the weight formats
     * running; {@code promptTokens}: the prefill batch the edge figure is read at.
     */
    void seedCosts(EdgeSession session, String edgeFormat, String cloudFormat, int promptTokens) {
        try {
            var link = linkProfile == null ? null : dev.splitllm.optimizer.profile.ProfileJson.readLink(linkProfile);
            var edge = edgeProfile == null ? null : format(dev.splitllm.optimizer.profile.ProfileJson.readDevice(edgeProfile),
                    edgeFormat, edgeProfile);
            var cloud = cloudProfile == null ? null : format(dev.splitllm.optimizer.profile.ProfileJson.readDevice(cloudProfile),
                    cloudFormat, cloudProfile);
            seed(session.costs(), link, edge, cloud, promptTokens);
        } catch (java.io.IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("--link-profile/--edge-profile/--cloud-profile: " + e.getMessage());
        }
    }

    private static dev.splitllm.optimizer.profile.FormatProfile format(dev.splitllm.optimizer.profile.DeviceProfile d, String format,
                                                                      java.nio.file.Path file) {
        var f = d.format(dev.splitllm.quantization.weights.WeightFormat.parse(format));
        if (f == null) throw new IllegalArgumentException(file + " has no figures for weights " + format + ": profile that format");
        return f;
    }

    /** Puts the profiles' figures into {@code costs} (any of them may be null: that figure stays unknown). */
    static void seed(dev.splitllm.edge.MoveCostModel costs, dev.splitllm.optimizer.profile.LinkProfile link,
                     dev.splitllm.optimizer.profile.FormatProfile edge, dev.splitllm.optimizer.profile.FormatProfile cloud,
                     int promptTokens) {
        int t = Math.max(1, promptTokens);
        if (link != null) costs.withLink(link.rttMs(), link.uplinkBps() / 8 / 1000, link.downlinkBps() / 8 / 1000);
        if (edge != null) costs.withCompute(edge.prefillLayerMs().at(t) / t, edge.decodeLayerMs().at(t));
        if (cloud != null) costs.withCloudCompute(cloud.decodeLayerMs().at(t));
    }

    /** True when the cut may move at all. */
    boolean enabled() {
        return script != null || adaptive || mirror != null;
    }

    /** Arms --handoff-at and --detach-at on {@code session}: the listener to pass to generate. */
    dev.splitllm.edge.TokenListener triggers(EdgeSession session, dev.splitllm.edge.TokenListener inner, PrintWriter err) {
        if (handOffAt != null && handOffAt < 1) throw new IllegalArgumentException("--handoff-at must be >= 1, got " + handOffAt);
        if (detachAt != null && detachAt < 1) throw new IllegalArgumentException("--detach-at must be >= 1, got " + detachAt);
        if (handOffAt == null && detachAt == null) return inner;
        session.onHandOff(e -> {
            err.println();
            err.println(e);
            err.flush();
        });
        int[] count = {0};
        return (id, text, stats) -> {
            inner.onToken(id, text, stats);
            count[0]++;
            if (handOffAt != null && count[0] == handOffAt) session.handOff();
            if (detachAt != null && count[0] == detachAt) session.detach();
        };
    }

    /**
     * The move options for a session starting at {@code split} of a {@code layers}-block model.
     *
     * @throws IllegalArgumentException with the option's name and the accepted forms
     */
    MoveOptions build(int split, int layers) {
        MoveOptions m;
        try {
            m = script != null ? MoveOptions.scripted(script, split) : MoveOptions.none();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--move: " + e.getMessage());
        }
        for (MoveOptions.ScriptedMove s : m.script()) {
            if (s.to() >= layers) {
                throw new IllegalArgumentException("--move: split " + s.to() + " is outside the model: a cut must leave at least one"
                        + " of its " + layers + " blocks on the cloud (0.." + (layers - 1) + ")");
            }
        }
        try {
            m = m.withKv(KvSpec.parse(kv));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--move-kv: " + e.getMessage());
        }
        switch (down) {
            case "auto" -> m = m.withDown(MoveOptions.Down.AUTO);
            case "transfer" -> m = m.withDown(MoveOptions.Down.TRANSFER);
            case "recompute" -> m = m.withDown(MoveOptions.Down.RECOMPUTE);
            default -> throw new IllegalArgumentException("--move-down must be auto, transfer or recompute, got " + down);
        }
        if (adaptive) m = m.withController(MoveController.defaults(layers - 1));
        if (mirror != null) {
            try {
                m = m.withMirror(dev.splitllm.edge.MirrorOptions.parse(mirror));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--mirror: " + e.getMessage());
            }
        }
        return m;
    }

    /** The deepest split the edge may take: blocks up to it are loaded. */
    int reach(int split, int layers) {
        if (adaptive) return layers - 1;
        return script == null ? split : build(split, layers).deepestSplit(split);
    }

    /** Prints each move as it happens. */
    static void printMoves(EdgeSession session, PrintWriter err) {
        session.onMove(e -> {
            err.println(e);
            err.flush();
        });
    }

    /** One line after the summary: how many moves and what they moved. */
    static void summary(List<MoveEvent> moves, PrintWriter err) {
        if (moves.isEmpty()) return;
        long made = moves.stream().filter(e -> e.error() == null).count();
        long bytes = moves.stream().mapToLong(e -> e.bytesUp() + e.bytesDown()).sum();
        double ms = moves.stream().filter(e -> e.error() == null).mapToDouble(MoveEvent::ms).sum();
        err.printf(java.util.Locale.ROOT, "moves: %d made, %d refused, %d KB of KV moved, %.0f ms in all; final cut l=%d%n", made,
                moves.size() - made, Math.round(bytes / 1000.0), ms,
                moves.stream().filter(e -> e.error() == null).reduce((a, b) -> b).map(MoveEvent::to).orElse(moves.get(0).from()));
        err.flush();
    }
}
