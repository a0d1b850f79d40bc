package dev.splitllm.engine.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * Byte-level BPE (GPT-2 family: GPT-2, Llama 3, Qwen2), as stored in GGUF
 * ({@code tokenizer.ggml.model = gpt2}) or a Hugging Face {@code tokenizer.json}: token strings in
 * {@link ByteLevelMapping} form and ranked merges {@code "left right"}.
 *
 * <p>Encoding: special tokens (control and user-defined ids) are cut out of the text first,
 * longest match first; the rest is split into words by a {@link PreTokenizerPattern}; each
 * word's UTF-8 bytes are mapped to characters and merged, always the adjacent pair of lowest
 * rank (leftmost on ties), until no pair has a merge. With {@code ignoreMerges} (Llama 3) a word
 * that is itself a token is taken whole.
 */
public final class BpeTokenizer implements Tokenizer {
    private final String[] tokens;
    private final Map<String, Integer> ids;
    private final Map<String, Integer> ranks;
    private final PreTokenizerPattern pre;
    private final boolean[] special;
    private final SpecialTokens specials;
    private final int bos;
    private final int eos;
    private final boolean addBos;
    private final boolean ignoreMerges;

    /**
     * @param tokens       token strings by id (byte-level form)
     * @param merges       merges in rank order, each "left right"
     * @param special      ids that are special (matched verbatim in text, decode to nothing); may be null
     * @param bos          BOS id or -1
     * @param eos          EOS id or -1
     * @param addBos       whether {@link #encode} with addBos=true prepends BOS (false: never)
     * @param ignoreMerges take a word whole when it is a token (Llama 3)
     */
    public BpeTokenizer(String[] tokens, String[] merges, PreTokenizerPattern pre, boolean[] special, int bos, int eos,
                        boolean addBos, boolean ignoreMerges) {
        this(tokens, merges, pre, special, null, bos, eos, addBos, ignoreMerges);
    }

    /**
     * As above; {@code userDefined} flags the special ids that are cut from text even without
     * special parsing (llama.cpp's user-defined type; may be null).
     */
    public BpeTokenizer(String[] tokens, String[] merges, PreTokenizerPattern pre, boolean[] special, boolean[] userDefined,
                        int bos, int eos, boolean addBos, boolean ignoreMerges) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("empty vocabulary");
        }
        if (special != null && special.length != tokens.length) {
            throw new IllegalArgumentException(special.length + " special flags for " + tokens.length + " tokens");
        }
        if (bos < -1 || bos >= tokens.length || eos < -1 || eos >= tokens.length) {
            throw new IllegalArgumentException("bos " + bos + " / eos " + eos + " outside the vocabulary of " + tokens.length);
        }
        this.tokens = tokens;
        this.pre = pre;
        this.special = special != null ? special : new boolean[tokens.length];
        this.bos = bos;
        this.eos = eos;
        this.addBos = addBos && bos >= 0;
        this.ignoreMerges = ignoreMerges;
        this.ids = new HashMap<>(tokens.length * 2);
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == null) {
                throw new IllegalArgumentException("token " + i + " is null");
            }
            ids.putIfAbsent(tokens[i], i);
        }
        this.ranks = new HashMap<>(merges.length * 2);
        for (int r = 0; r < merges.length; r++) {
            String m = merges[r];
            int sp = m.indexOf(' ', 1);
            if (sp <= 0 || sp == m.length() - 1 || m.indexOf(' ', sp + 1) >= 0) {
                throw new IllegalArgumentException("merge " + r + " '" + m + "' is not of the form 'left right'");
            }
            ranks.putIfAbsent(m, r);
        }
        boolean[] control = this.special.clone();
        if (userDefined != null) {
            for (int i = 0; i < control.length; i++) control[i] &= !userDefined[i];
        }
        this.specials = SpecialTokens.of(tokens, control, userDefined);
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    /** The token string of an id (byte-level form). */
    public String token(int id) {
        return tokens[id];
    }

    public PreTokenizerPattern preTokenizer() {
        return pre;
    }

    /** Merges in rank order ("left right"). */
    public String[] merges() {
        String[] out = new String[ranks.size()];
        for (Map.Entry<String, Integer> e : ranks.entrySet()) out[e.getValue()] = e.getKey();
        return out;
    }

    /** True when a word that is itself a token is taken whole (Llama 3's {@code ignore_merges}). */
    public boolean ignoresMerges() {
        return ignoreMerges;
    }

    public boolean isSpecial(int id) {
        return special[id];
    }

    /** Encodes with special tokens parsed (this class's behaviour before {@link #encode(String, boolean, boolean)}). */
    @Override
    public int[] encode(String text, boolean withBos) {
        return encode(text, withBos, true);
    }

    @Override
    public int[] encode(String text, boolean withBos, boolean parseSpecial) {
        IntList out = new IntList();
        if (withBos && addBos) out.add(bos);
        for (SpecialTokens.Fragment f : specials.split(text, parseSpecial)) {
            if (f.isToken()) {
                out.add(f.token());
            } else {
                encodeText(f.text(), out);
            }
        }
        return out.toArray();
    }

    private void encodeText(String text, IntList out) {
        if (text.isEmpty()) return;
        Matcher m = pre.pattern().matcher(text);
        while (m.find()) {
            if (m.end() > m.start()) {
                encodeWord(ByteLevelMapping.encode(m.group()), out);
            }
        }
    }

    private void encodeWord(String word, IntList out) {
        if (ignoreMerges) {
            Integer whole = ids.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        List<String> sym = new ArrayList<>(word.length());
        for (int i = 0; i < word.length(); i++) sym.add(String.valueOf(word.charAt(i)));
        while (sym.size() > 1) {
            int best = -1, bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < sym.size(); i++) {
                Integer r = ranks.get(sym.get(i) + " " + sym.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) break;
            sym.set(best, sym.get(best) + sym.get(best + 1));
            sym.remove(best + 1);
        }
        for (String s : sym) {
            Integer id = ids.get(s);
            if (id != null) {
                out.add(id);
            } else {
                for (int i = 0; i < s.length(); i++) { // no token for the merged piece: its characters
                    Integer c = ids.get(String.valueOf(s.charAt(i)));
                    if (c != null) out.add(c);
                }
            }
        }
    }

    @Override
    public byte[] decodeBytes(int previous, int token) {
        if (token < 0 || token >= tokens.length) {
            throw new IllegalArgumentException("token id " + token + " outside the vocabulary [0, " + tokens.length + ")");
        }
        if (special[token] || token == bos || token == eos) {
            return new byte[0];
        }
        return ByteLevelMapping.decode(tokens[token]);
    }

    /** A growable int array. */
    private static final class IntList {
        int[] a = new int[16];
        int n;

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
