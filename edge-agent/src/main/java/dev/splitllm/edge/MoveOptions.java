package dev.splitllm.edge;

import dev.splitllm.quantization.kv.KvSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * How a session may move its cut mid-generation (docs/PROTOCOL.md, "Moving the cut"): moves
 * scripted at given steps, the KV kind they ship, how the KV of layers coming down to the edge is
 * obtained, and an optional {@link MoveController} that re-plans on measured conditions.
 */
public final class MoveOptions {
    /** How the edge gets the KV of layers it takes over. */
    public enum Down {
        /** Whichever the cost model predicts is faster for the measured link and device. */
        AUTO,
        /** The cloud sends it down. */
        TRANSFER,
        /** The edge recomputes it from the token history. */
        RECOMPUTE
    }

    /** One scripted move: from split {@code from} to {@code to} before step {@code step} is sent. */
    public record ScriptedMove(int from, int to, long step) {
    }

    private static final MoveOptions NONE = new MoveOptions(List.of(), KvSpec.FP32, Down.AUTO, null, null);

    private final List<ScriptedMove> script;
    private final KvSpec kv;
    private final Down down;
    private final MoveController controller;
    private final MirrorOptions mirror;

    private MoveOptions(List<ScriptedMove> script, KvSpec kv, Down down, MoveController controller, MirrorOptions mirror) {
        this.mirror = mirror;
        this.script = script;
        this.kv = kv;
        this.down = down;
        this.controller = controller;
    }

    /** No moves (only {@link EdgeSession#requestMove} can move the cut): lossless KV, AUTO down. */
    public static MoveOptions none() {
        return NONE;
    }

    /**
     * Parses {@code FROM:TO@STEP[,FROM:TO@STEP...]} (e.g. {@code 3:1@20,1:5@60}): steps strictly
     * increasing (at least 1: the cut moves after the prefill), each move starting where the
     * previous one ended, the first at {@code startSplit}, no move onto its own split.
     */
    public static MoveOptions scripted(String spec, int startSplit) {
        if (spec == null || spec.isBlank()) throw new IllegalArgumentException("empty move script");
        List<ScriptedMove> moves = new ArrayList<>();
        int at = startSplit;
        long lastStep = 0;
        for (String part : spec.split(",", -1)) {
            String p = part.trim();
            int colon = p.indexOf(':'), amp = p.indexOf('@');
            if (colon <= 0 || amp <= colon + 1 || amp == p.length() - 1) {
                throw new IllegalArgumentException("bad move '" + p + "': expected FROM:TO@STEP, e.g. 3:1@20");
            }
            int from, to;
            long step;
            try {
                from = Integer.parseInt(p.substring(0, colon));
                to = Integer.parseInt(p.substring(colon + 1, amp));
                step = Long.parseLong(p.substring(amp + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad number in move '" + p + "': expected FROM:TO@STEP, e.g. 3:1@20");
            }
            if (from != at) {
                throw new IllegalArgumentException("move '" + p + "' starts at split " + from + " but the cut is at " + at + " by then");
            }
            if (to == from || to < 0) throw new IllegalArgumentException("move '" + p + "' must go to another split >= 0");
            if (step <= lastStep) {
                throw new IllegalArgumentException("move '" + p + "': steps must increase and be >= 1 (the cut moves after the prefill)");
            }
            moves.add(new ScriptedMove(from, to, step));
            at = to;
            lastStep = step;
        }
        return new MoveOptions(Collections.unmodifiableList(moves), KvSpec.FP32, Down.AUTO, null, null);
    }

    /** The same with KV of {@code kind} on the wire ({@code fp32} lossless, or a {@code kivi:} kind). */
    public MoveOptions withKv(KvSpec kind) {
        return new MoveOptions(script, kind, down, controller, mirror);
    }

    public MoveOptions withDown(Down mode) {
        return new MoveOptions(script, kv, mode, controller, mirror);
    }

    /** The same with a controller that moves the cut when re-planning says so. */
    public MoveOptions withController(MoveController c) {
        return new MoveOptions(script, kv, down, c, mirror);
    }

    /** The same with the edge's KV mirrored to the cloud as it grows (docs/PROTOCOL.md, "Mirror"); null for none. */
    public MoveOptions withMirror(MirrorOptions m) {
        return new MoveOptions(script, kv, down, controller, m);
    }

    /** The mirror, or null. */
    public MirrorOptions mirror() {
        return mirror;
    }

    public List<ScriptedMove> script() {
        return script;
    }

    public KvSpec kv() {
        return kv;
    }

    public Down down() {
        return down;
    }

    /** The controller, or null. */
    public MoveController controller() {
        return controller;
    }

    /** The deepest split the script reaches (the edge must load blocks up to it). */
    public int deepestSplit(int startSplit) {
        int deepest = startSplit;
        for (ScriptedMove m : script) deepest = Math.max(deepest, m.to());
        return deepest;
    }
}
