package dev.splitllm.tools.oracle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.splitllm.engine.TestModel;
import dev.splitllm.engine.forward.SegmentState;
import dev.splitllm.engine.forward.Transformer;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.sample.Sampler;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.wire.SessionCodec;
import dev.splitllm.quantization.weights.WeightFormat;
import dev.splitllm.tools.convert.ModelConverter;
import dev.splitllm.tools.convert.SyntheticArchitectures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Needs llama.cpp (scripts/oracle-tests.sh): for stories15M as GGUF (F32, Q8_0, Q4_0, Q4_K, Q6_K) and every
 * synthetic architecture fixture, the engine agrees with llama.cpp on
 * <ol>
 *   <li>token ids of texts with unicode, runs of spaces, digits and special tokens, with and
 *       without special-token parsing;</li>
 *   <li>the next-token distribution at each of 64 positions (log-probabilities within
 *       {@link #tolerance}, top-1 identical), unsplit and split (edge blocks [0,l), fp32 frames
 *       through {@link SessionCodec}, cloud blocks [l,L));</li>
 *   <li>a 32-token greedy continuation, unsplit and split.</li>
 * </ol>
 */
class ArchitecturesOracleTest {
    static final String STORY = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine."
            + " One day, she saw a big red ball in the park. She ran to it and kicked it as hard as she could. The ball flew"
            + " over the fence and into the garden of an old man, who was not happy at all. Lily said sorry, and they became friends.";
    static final List<String> TEXTS = List.of(
            "Once upon a time",
            "  Hello,   world!  two  spaces\tand a tab\nand a new line\n\n",
            "Digits 1234567 and 3.14159, on 2026-11-27 at 10:45.",
            "Unicode: café naïve Ünïcödé 日本語 🙂 ¿qué?",
            "<s>Hello</s> world <unk> again",
            "[INST] What is 2+2? [/INST] Four.</s>",
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there!<|eot_id|>",
            "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");

    @TempDir
    static Path work;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"stories15M-f32", "stories15M-q8_0", "stories15M-q4_0", "stories15M-q4_k", "stories15M-q6_k", "llama2",
        "llama3", "qwen2", "mistral"})
    void agreesWithLlamaCpp(String name) throws Exception {
        LlamaCppOracle.assumeAvailable();
        String only = System.getProperty("oracle.cases", "");
        org.junit.jupiter.api.Assumptions.assumeTrue(only.isEmpty() || Arrays.asList(only.split(",")).contains(name),
                "not in -Doracle.cases=" + only);
        Path gguf = work.resolve(name + ".gguf");
        if (name.startsWith("stories15M-")) {
            ModelConverter.toGguf(TestModel.checkpoint(), gguf, WeightFormat.parse(name.substring("stories15M-".length())));
        } else {
            SyntheticArchitectures.write(name, TestModel.tokenizer(), gguf);
        }
        try (ModelSource src = ModelFiles.open(gguf)) {
            Tokenizer tok = src.tokenizer();
            int L = src.config().nLayers(), vocab = src.config().vocabSize(), window = src.config().slidingWindow();
            ModelWeights all = src.load(ModelSlice.all(L));
            int split = L / 2;
            Runner unsplit = new Runner(all, all, 0), splitRun = new Runner(src.load(ModelSlice.edge(split)),
                    src.load(ModelSlice.cloud(split, L)), split);

            int[] seq = Arrays.copyOf(tok.encode(STORY, true, false), 64);
            assertTrue(seq[63] != 0 || tok.encode(STORY, true, false).length >= 64, "the story must give 64 tokens");
            int[] prompt = Arrays.copyOf(seq, 8);

            ObjectNode req = LlamaCppOracle.JSON.createObjectNode();
            req.put("model", gguf.toString());
            ArrayNode texts = req.putArray("tokenize");
            for (String t : TEXTS) {
                for (boolean special : new boolean[] {false, true}) texts.addObject().put("text", t).put("special", special);
            }
            Path rows = work.resolve(name + ".logprobs");
            ObjectNode lg = req.putObject("logits").put("out", rows.toString()).put("vocab", vocab).put("window", window);
            ints(lg.putArray("tokens"), seq);
            ObjectNode gr = req.putObject("greedy").put("n", 32).put("window", window);
            ints(gr.putArray("tokens"), prompt);
            JsonNode reply = LlamaCppOracle.call(req, work);

            // 1. Tokenization.
            int k = 0;
            for (String t : TEXTS) {
                for (boolean special : new boolean[] {false, true}) {
                    int[] expected = LlamaCppOracle.ints(reply.get("tokens").get(k++));
                    assertArrayEquals(expected, tok.encode(t, false, special),
                            name + ": tokens of " + quote(t) + (special ? " with" : " without") + " special parsing");
                }
            }
            // 2. Next-token distributions at every position, unsplit and split.
            float[][] ref = LlamaCppOracle.readRows(rows, seq.length, vocab);
            double tol = tolerance(name);
            for (Runner r : new Runner[] {unsplit, splitRun}) {
                float[][] ours = r.logitsAll(seq);
                double worst = 0;
                int nearTies = 0;
                for (int p = 0; p < seq.length; p++) {
                    double[] lp = logSoftmax(ours[p]);
                    double maxAbs = 0, lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
                    for (int j = 0; j < vocab; j++) {
                        maxAbs = Math.max(maxAbs, Math.abs(lp[j] - ref[p][j]));
                        lo = Math.min(lo, lp[j]);
                        hi = Math.max(hi, lp[j]);
                    }
                    double rel = maxAbs / (hi - lo);
                    worst = Math.max(worst, rel);
                    int want = argmax(ref[p]), got = Sampler.argmax(ours[p]);
                    if (want != got) {
                        // Allowed only for quantized weights on the engine's float-activation path, and only
                        // where llama.cpp's own top two are closer than the tolerance band: a near tie its
                        // 8-bit activation quantization decides. With the engine's Q8 activation path
                        // (-Dsplitllm.q8activations=true, what scripts/oracle-tests.sh runs) the matmuls
                        // round like llama.cpp's and top-1 must be equal everywhere.
                        double margin = ref[p][want] - ref[p][got];
                        // The k-quant kernels take float activations (llama.cpp rounds them to q8_K blocks): near ties allowed.
                        assertFalse(Boolean.getBoolean("splitllm.q8activations") && !kQuant(name), name + r + ": top-1 differs at position " + p
                                + " although activations are quantized as llama.cpp does (llama.cpp " + want + ", engine " + got + ")");
                        System.out.printf(Locale.ROOT, "oracle %s%s: top-1 %d vs llama.cpp %d at position %d, llama.cpp margin %.4f nats%n",
                                name, r, got, want, p, margin);
                        assertTrue(tol > 1e-3 && margin <= tol * (hi - lo),
                                name + r + ": top-1 differs at position " + p + " (llama.cpp " + want + ", engine " + got
                                        + ", llama.cpp margin " + margin + " nats)");
                        nearTies++;
                    }
                }
                System.out.printf(Locale.ROOT, "oracle %s%s: max |d log p| / logit range over 64 positions = %.3g (tolerance %.1g),"
                        + " top-1 equal at %d of 64 positions (the rest near ties)%n", name, r, worst, tol, 64 - nearTies);
                assertTrue(worst <= tol, name + r + ": relative log-probability error " + worst + " > " + tol);
                // 3. Greedy continuation. k-quants: llama.cpp rounds the activations of its k-quant
                // matmuls to 8 bits and the engine does not, so a late near tie may go the other way
                // (seen once at token 27 of 32); the first 16 must agree, like bench-peers' Q4_0 prefix.
                int[] want = LlamaCppOracle.ints(reply.get("greedy")), got = r.greedy(prompt, 32);
                if (kQuant(name)) {
                    int same = 0;
                    while (same < want.length && same < got.length && want[same] == got[same]) same++;
                    System.out.printf(Locale.ROOT, "oracle %s%s: greedy continuation equal for %d of 32 tokens%n", name, r, same);
                    assertTrue(same >= 16, name + r + ": greedy continuation differs at token " + same);
                } else {
                    assertArrayEquals(want, got, name + r + ": greedy continuation");
                }
            }
        }
    }

    /**
     * F32 weights: llama.cpp's matmuls sum in another order (SIMD blocks) and build RoPE angles by
     * repeated float multiplication: relative errors of 1e-6..1e-5 per step, ~1e-4 at most after
     * the blocks and the softmax. Q8_0/Q4_0: llama.cpp also quantizes the activations to 8-bit
     * blocks before each quantized matmul (the engine keeps them fp32), about 0.4% relative noise
     * per matmul: 3e-2 of the logit range.
     */
    static double tolerance(String name) {
        // k-quants: the engine's k-quant kernels take float activations where llama.cpp rounds them
        // to 8 bits (q8_K) on top of the Q8_0 matrices' rounding both do: measured 0.034 for q4_k.
        return kQuant(name) ? 5e-2 : name.endsWith("q8_0") || name.endsWith("q4_0") ? 3e-2 : 1e-4;
    }

    /** stories15M as a k-quant GGUF: w2 (rows of 768) is Q4_K / Q6_K, rows of 288 fall back to Q8_0. */
    static boolean kQuant(String name) {
        return name.endsWith("_k");
    }

    /** The engine, whole or split at a layer with fp32 frames through the real codec. */
    static final class Runner {
        final Transformer edge, cloud;
        final int split;

        Runner(ModelWeights edgeWeights, ModelWeights cloudWeights, int split) {
            this.edge = new Transformer(edgeWeights, KernelProvider.best(), TestModel.TEAM);
            this.cloud = new Transformer(cloudWeights, KernelProvider.best(), TestModel.TEAM);
            this.split = split;
        }

        final class Session {
            final SegmentState e, c;
            final SessionCodec codec = new SessionCodec(CodecSpec.fp32());

            Session() {
                int L = cloud.config().nLayers();
                e = split > 0 ? edge.newState(0, split, 256) : null;
                c = cloud.newState(split, L, 256);
            }

            /** Hidden states of T new tokens after the last block. */
            float[] run(int[] tokens) {
                int d = cloud.config().dim(), T = tokens.length;
                float[] x = edge.embed(tokens);
                if (e != null) {
                    edge.forward(e, x, T);
                    x = codec.roundTrip(x, T, d, SessionCodec.ByteCounter.NONE);
                }
                cloud.forward(c, x, T);
                return x;
            }
        }

        float[][] logitsAll(int[] tokens) {
            float[] x = new Session().run(tokens);
            int v = cloud.config().vocabSize();
            float[] all = new float[tokens.length * v];
            cloud.logits(x, 0, tokens.length, all);
            float[][] out = new float[tokens.length][];
            for (int p = 0; p < tokens.length; p++) out[p] = Arrays.copyOfRange(all, p * v, (p + 1) * v);
            return out;
        }

        int[] greedy(int[] prompt, int n) {
            Session s = new Session();
            float[] x = s.run(prompt);
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                out[i] = Sampler.argmax(cloud.lastLogits(x, i == 0 ? prompt.length : 1));
                if (i + 1 < n) x = s.run(new int[] {out[i]});
            }
            return out;
        }

        @Override
        public String toString() {
            return split > 0 ? " (split at " + split + ", fp32 frames)" : "";
        }
    }

    static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double sum = 0;
        for (float l : logits) sum += Math.exp(l - max);
        double lse = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < out.length; i++) out[i] = logits[i] - lse;
        return out;
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
        return best;
    }

    static void ints(ArrayNode a, int[] v) {
        for (int x : v) a.add(x);
    }

    static String quote(String s) {
        return "\"" + s.replace("\n", "\\n").replace("\t", "\\t") + "\"";
    }
}
