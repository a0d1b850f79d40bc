package dev.splitllm.engine.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Cuts special tokens out of text before the ordinary tokenizer runs, with llama.cpp's
 * {@code parse_special} semantics ({@code tokenizer_st_partition}): the special tokens (control,
 * user-defined and unknown types) are tried longest text first; each one splits every remaining
 * text fragment at each of its occurrences, left to right. Control and unknown tokens are cut
 * only when special parsing is on; user-defined tokens always (as Hugging Face's added tokens).
 */
public final class SpecialTokens {
    /** A piece of input: either text still to tokenize ({@code token < 0}) or one special token. */
    public record Fragment(String text, int token) {
        public boolean isToken() {
            return token >= 0;
        }
    }

    /** No special tokens. */
    public static final SpecialTokens NONE = new SpecialTokens(new String[0], new int[0], new boolean[0]);

    private final String[] texts;
    private final int[] ids;
    private final boolean[] always;

    /**
     * @param texts       token texts by id (null or empty entries are never matched)
     * @param ids         the special ids (control, user-defined or unknown)
     * @param userDefined per entry of {@code ids}: true when it is cut even without special parsing
     */
    public SpecialTokens(String[] texts, int[] ids, boolean[] userDefined) {
        Integer[] order = new Integer[ids.length];
        for (int i = 0; i < ids.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> -texts[ids[i]].length()).thenComparingInt(i -> ids[i]));
        List<String> t = new ArrayList<>();
        List<Integer> id = new ArrayList<>();
        List<Boolean> al = new ArrayList<>();
        for (int i : order) {
            String s = texts[ids[i]];
            if (s == null || s.isEmpty()) continue;
            t.add(s);
            id.add(ids[i]);
            al.add(userDefined[i]);
        }
        this.texts = t.toArray(new String[0]);
        this.ids = id.stream().mapToInt(Integer::intValue).toArray();
        this.always = new boolean[al.size()];
        for (int i = 0; i < always.length; i++) always[i] = al.get(i);
    }

    /** Special tokens from flags over the whole vocabulary: {@code control} cut when parsing, {@code userDefined} always. */
    public static SpecialTokens of(String[] texts, boolean[] control, boolean[] userDefined) {
        List<Integer> ids = new ArrayList<>();
        List<Boolean> ud = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            boolean u = userDefined != null && userDefined[i];
            if ((control != null && control[i]) || u) {
                ids.add(i);
                ud.add(u);
            }
        }
        boolean[] flags = new boolean[ud.size()];
        for (int i = 0; i < flags.length; i++) flags[i] = ud.get(i);
        return new SpecialTokens(texts, ids.stream().mapToInt(Integer::intValue).toArray(), flags);
    }

    /** The fragments of {@code text}, in order. */
    public List<Fragment> split(String text, boolean parseSpecial) {
        List<Fragment> frags = new ArrayList<>();
        if (!text.isEmpty()) frags.add(new Fragment(text, -1));
        for (int s = 0; s < texts.length; s++) {
            if (!parseSpecial && !always[s]) continue;
            String sp = texts[s];
            List<Fragment> next = new ArrayList<>(frags.size() + 4);
            for (Fragment f : frags) {
                if (f.isToken()) {
                    next.add(f);
                    continue;
                }
                String raw = f.text();
                int from = 0;
                for (int at = raw.indexOf(sp); at >= 0; at = raw.indexOf(sp, from)) {
                    if (at > from) next.add(new Fragment(raw.substring(from, at), -1));
                    next.add(new Fragment(sp, ids[s]));
                    from = at + sp.length();
                }
                if (from < raw.length()) next.add(new Fragment(raw.substring(from), -1));
            }
            frags = next;
        }
        return frags;
    }

    /** Id of a special token with exactly this text, or -1. */
    public int id(String text) {
        for (int i = 0; i < texts.length; i++) {
            if (texts[i].equals(text)) return ids[i];
        }
        return -1;
    }
}
