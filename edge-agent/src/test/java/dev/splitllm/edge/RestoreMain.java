package dev.splitllm.edge;

import java.net.URI;

/**
 * A fresh edge process for {@link HandOffTest}: restores a session by its id and goes on with it,
 * printing {@code tokens: a,b,c,...} (every token of the session) and {@code stop: REASON}.
 * Arguments: server URL, bearer token, session id, split, down (transfer|recompute), max tokens,
 * and the prompt ("-" when the cloud kept it).
 */
public final class RestoreMain {
    public static void main(String[] args) throws Exception {
        URI server = URI.create(args[0]);
        String token = args[1], id = args[2];
        int split = Integer.parseInt(args[3]);
        MoveOptions.Down down = MoveOptions.Down.valueOf(args[4].toUpperCase(java.util.Locale.ROOT));
        int maxTokens = Integer.parseInt(args[5]);
        String prompt = "-".equals(args[6]) ? null : args[6];
        try (EdgeModel model = EdgeModel.load(Fixture.checkpoint(), Fixture.tokenizerFile(), split, 1);
             EdgeSession s = EdgeSession.restore(model, EdgeOptions.defaults(server, token).withMaxSeqLen(128), id, prompt,
                     MoveOptions.none().withDown(down))) {
            GenerationResult r = s.resume(maxTokens, true, (t, text, stats) -> { });
            StringBuilder sb = new StringBuilder();
            for (int t : r.tokens()) sb.append(sb.length() == 0 ? "" : ",").append(t);
            System.out.println("tokens: " + sb);
            System.out.println("stop: " + r.stopReason());
            for (MoveEvent e : s.moves()) System.out.println(e);
        }
    }
}
