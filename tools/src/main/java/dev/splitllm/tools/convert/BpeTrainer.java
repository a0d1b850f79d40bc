package dev.splitllm.tools.convert;

import dev.splitllm.engine.tokenizer.ByteLevelMapping;
import dev.splitllm.engine.tokenizer.PreTokenizerPattern;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * Trains a small byte-level BPE vocabulary (GPT-2 style) for synthetic fixtures: words from a
 * pre-tokenizer regex, in {@link ByteLevelMapping} characters, then repeatedly the most frequent
 * adjacent pair is merged (ties: the lexicographically smaller pair), as Hugging Face's trainer
 * does. Deterministic for a given corpus.
 */
public final class BpeTrainer {
    /** The trained vocabulary: 256 byte tokens, then one token per merge, in order. */
    public record Vocabulary(List<String> tokens, List<String> merges) {}

    private BpeTrainer() {}

    /**
     * @param corpus texts with a weight each (e.g. how often they occur)
     * @param merges number of merges to learn
     */
    public static Vocabulary train(Map<String, Integer> corpus, PreTokenizerPattern pre, int merges) {
        Map<String, Long> words = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> e : corpus.entrySet()) {
            Matcher m = pre.pattern().matcher(e.getKey());
            while (m.find()) {
                if (m.end() > m.start()) words.merge(ByteLevelMapping.encode(m.group()), (long) e.getValue(), Long::sum);
            }
        }
        List<List<String>> symbols = new ArrayList<>();
        List<Long> counts = new ArrayList<>();
        for (Map.Entry<String, Long> e : words.entrySet()) {
            List<String> s = new ArrayList<>();
            for (int i = 0; i < e.getKey().length(); i++) s.add(String.valueOf(e.getKey().charAt(i)));
            symbols.add(s);
            counts.add(e.getValue());
        }
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevelMapping.charOf(b)));
        List<String> learned = new ArrayList<>();
        // Pair counts are kept up to date incrementally: only words that contain the merged pair change.
        Map<String, Long> pairs = new HashMap<>();
        for (int w = 0; w < symbols.size(); w++) addPairs(pairs, symbols.get(w), counts.get(w), 1);
        for (int step = 0; step < merges; step++) {
            String best = null;
            long bestCount = 0;
            for (Map.Entry<String, Long> e : pairs.entrySet()) {
                if (e.getValue() > bestCount || (e.getValue() == bestCount && best != null && e.getKey().compareTo(best) < 0)) {
                    best = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (best == null) break;
            int sp = best.indexOf(' ');
            String left = best.substring(0, sp), right = best.substring(sp + 1), joined = left + right;
            learned.add(best);
            if (!tokens.contains(joined)) tokens.add(joined);
            for (int w = 0; w < symbols.size(); w++) {
                List<String> s = symbols.get(w);
                if (!contains(s, left, right)) continue;
                addPairs(pairs, s, counts.get(w), -1);
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(left) && s.get(i + 1).equals(right)) {
                        s.set(i, joined);
                        s.remove(i + 1);
                    }
                }
                addPairs(pairs, s, counts.get(w), 1);
            }
        }
        return new Vocabulary(tokens, learned);
    }

    private static boolean contains(List<String> s, String left, String right) {
        for (int i = 0; i + 1 < s.size(); i++) {
            if (s.get(i).equals(left) && s.get(i + 1).equals(right)) return true;
        }
        return false;
    }

    private static void addPairs(Map<String, Long> pairs, List<String> s, long count, int sign) {
        for (int i = 0; i + 1 < s.size(); i++) {
            String key = s.get(i) + " " + s.get(i + 1);
            long v = pairs.getOrDefault(key, 0L) + sign * count;
            if (v == 0) pairs.remove(key); else pairs.put(key, v);
        }
    }
}
