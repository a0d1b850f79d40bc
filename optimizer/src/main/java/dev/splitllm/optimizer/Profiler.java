package dev.splitllm.optimizer;

import dev.splitllm.engine.forward.Backend;
import dev.splitllm.engine.forward.JavaBackend;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.kernels.KernelProvider;
import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.load.ModelFiles;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.MemoryAccount;
import dev.splitllm.engine.model.ModelQuantizer;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.PrecisionPlan;
import dev.splitllm.optimizer.profile.CodecTiming;
import dev.splitllm.optimizer.profile.Curve;
import dev.splitllm.optimizer.profile.DeviceProfile;
import dev.splitllm.optimizer.profile.FormatProfile;
import dev.splitllm.optimizer.profile.ModelShape;
import dev.splitllm.quantization.codec.ActivationCodec;
import dev.splitllm.quantization.codec.CodecSpec;
import dev.splitllm.quantization.codec.CorruptPayloadException;
import dev.splitllm.quantization.codec.OutlierChannels;
import dev.splitllm.quantization.weights.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Measures a {@link DeviceProfile} on the machine it runs on, with the real engine on a real
 * model in any format (read through {@link ModelFiles}; stories15M by default): for each weight
 * format, the model is converted to that format, then
 *
 * <ul>
 *   <li>prefill: T tokens at positions [0, T) for each T of {@code prefillTokens};</li>
 *   <li>decode: one token with c positions already cached, for each c of {@code decodeContexts}
 *       (the cache is filled once, untimed; each repetition truncates back to c);</li>
 *   <li>head: final norm + classifier for one row; embedding: lookup of T tokens / T.</li>
 * </ul>
 *
 * <p><b>Per-block time</b>: the whole block range [0, L) is timed and divided by L, rather than
 * timing a one-block segment. Every block has the same shape, and the full range streams every
 * block's weights through the caches the way a real split does; a single block repeated would
 * stay cache-resident and read too fast. The reported figure is the median of {@code reps}
 * repetitions after one warm-up (3 x reps for the cheap T = 16 prefill, and at least 9 for
 * decode steps, which are short and noisy). Codec timings are measured with the runtime's
 * {@link ActivationCodec} (the codec inside the session codec) on a real hidden state (the output
 * of block L/2), for each codec setting given; a per-session outlier channel set is chosen once
 * from those rows, untimed, as a session chooses it from its prefill frame.
 *
 * <p>Figures depend on the machine's load; keep other work off the cores while profiling.
 */
public final class Profiler {
    private Profiler() {}

    /** Default measured formats. */
    public static final List<WeightFormat> FORMATS = List.of(WeightFormat.F32, WeightFormat.Q8_0, WeightFormat.Q4_0);
    public static final int[] PREFILL_TOKENS = {16, 64, 128};
    public static final int[] DECODE_CONTEXTS = {32, 128, 255};
    public static final int[] CODEC_TOKENS = {1, 16, 64, 128};
    public static final int MAX_REPS = 50;

    /** Profiles {@code model} with the default grid (formats f32, q8_0, q4_0; 3 repetitions; no codec). */
    public static DeviceProfile run(Path model, String name, int threads) throws IOException {
        return run(model, name, FORMATS, threads, 3, List.of());
    }

    /**
     * Profiles {@code model}.
     *
     * @param model       a llama2.c .bin, a .gguf or a Hugging Face directory
     * @param name        device label stored in the profile
     * @param formats     weight formats to measure
     * @param threads     engine threads
     * @param reps        timed repetitions per figure (median), 1..50
     * @param codecSpecs  codec settings ({@link CodecSpec} strings) to time; empty for no codec timings
     */
    public static DeviceProfile run(Path model, String name, List<WeightFormat> formats, int threads, int reps,
                                    List<String> codecSpecs) throws IOException {
        if (reps < 1 || reps > MAX_REPS) throw new IllegalArgumentException("reps must be in [1, " + MAX_REPS + "], got " + reps);
        if (threads < 1 || threads > 256) throw new IllegalArgumentException("threads must be in [1, 256], got " + threads);
        if (formats == null || formats.isEmpty()) throw new IllegalArgumentException("no weight format to profile");
        List<CodecSpec> specs = new ArrayList<>();
        for (String s : codecSpecs) {
            try {
                specs.add(CodecSpec.parse(s));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("codec '" + s + "': " + e.getMessage(), e);
            }
        }
        try (ModelSource src = ModelFiles.open(model)) {
            return run(src, Calibrator.modelName(model), name, formats, threads, reps, codecSpecs, specs);
        }
    }

    private static DeviceProfile run(ModelSource src, String modelName, String name, List<WeightFormat> formats, int threads, int reps,
                                     List<String> codecSpecs, List<CodecSpec> specs) throws IOException {
        LlamaConfig c = src.config();
        int maxT = Arrays.stream(PREFILL_TOKENS).max().getAsInt();
        int maxCtx = Arrays.stream(DECODE_CONTEXTS).max().getAsInt();
        if (c.seqLen() < Math.max(maxT, maxCtx + 1)) {
            throw new IllegalArgumentException(modelName + ": seq_len " + c.seqLen() + " is shorter than the profiling grid needs ("
                    + Math.max(maxT, maxCtx + 1) + ")");
        }
        Kernels kernels = KernelProvider.best();
        List<FormatProfile> out = new ArrayList<>();
        List<CodecTiming> codec = new ArrayList<>();
        ModelWeights stored = src.load(ModelSlice.all(c.nLayers()));
        try (ThreadTeam team = new ThreadTeam(threads)) {
            for (WeightFormat f : formats) {
                PrecisionPlan plan = PrecisionPlan.uniform(f);
                ModelWeights w = ModelQuantizer.apply(stored, plan);
                try (Backend b = new JavaBackend(w, kernels, team)) {
                    out.add(profileFormat(b, f, reps, new MemoryAccount(c, plan).whole(c.seqLen(), 1).totalBytes()));
                    if (codec.isEmpty()) { // codec cost does not depend on the weight format: time it once
                        for (int i = 0; i < specs.size(); i++) codec.add(profileCodec(b, codecSpecs.get(i), specs.get(i), reps));
                    }
                }
            }
        }
        Map<String, String> on = new LinkedHashMap<>();
        on.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        on.put("cpus", String.valueOf(Runtime.getRuntime().availableProcessors()));
        on.put("threads", String.valueOf(threads));
        on.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        on.put("kernels", "java/" + kernels.name());
        on.put("model", modelName);
        on.put("reps", String.valueOf(reps));
        on.put("perLayer", "block range [0, L) timed, divided by L; median after one warm-up (prefill T>16: reps, T=16: 3*reps, decode: max(9, 3*reps))");
        on.put("date", Instant.now().toString());
        if (!specs.isEmpty()) on.put("codec", "splitllm activation codec (payload encode / decode, no frame header)");
        return new DeviceProfile(DeviceProfile.SCHEMA, name, false, on, ModelShape.of(modelName, c), out, codec);
    }

    private static int[] tokens(int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 1 + (int) ((i * 7919L + 13) % (vocab - 1));
        return t;
    }

    static FormatProfile profileFormat(Backend b, WeightFormat f, int reps, long residentBytes) {
        LlamaConfig c = b.config();
        int L = c.nLayers();
        // Warm up the JIT on this format's kernels.
        try (Segment s = b.open(c.seqLen())) {
            for (int i = 0; i < 3; i++) {
                s.truncate(0);
                s.forward(s.embed(tokens(32, c.vocabSize())), 32);
            }
            for (int i = 0; i < 8; i++) s.forward(s.embed(new int[] {5 + i}), 1);
        }
        double[] prefill = new double[PREFILL_TOKENS.length];
        try (Segment s = b.open(c.seqLen())) {
            for (int i = 0; i < PREFILL_TOKENS.length; i++) {
                int T = PREFILL_TOKENS[i];
                int[] ids = tokens(T, c.vocabSize());
                prefill[i] = median(T <= 16 ? 3 * reps : reps, () -> {
                    s.truncate(0);
                    float[] x = s.embed(ids);
                    long t0 = System.nanoTime();
                    s.forward(x, T);
                    return (System.nanoTime() - t0) / 1e6;
                }) / L;
            }
        }
        double[] decode = new double[DECODE_CONTEXTS.length];
        double head;
        try (Segment s = b.open(c.seqLen())) {
            int filled = 0;
            int[] all = tokens(c.seqLen(), c.vocabSize());
            for (int i = 0; i < DECODE_CONTEXTS.length; i++) {
                int ctx = DECODE_CONTEXTS[i];
                int n = ctx - filled;
                if (n > 0) {
                    s.truncate(filled);
                    s.forward(s.embed(Arrays.copyOfRange(all, filled, ctx)), n);
                    filled = ctx;
                }
                int[] one = {all[ctx]};
                decode[i] = median(Math.max(9, 3 * reps), () -> {
                    s.truncate(ctx);
                    float[] x = s.embed(one);
                    long t0 = System.nanoTime();
                    s.forward(x, 1);
                    return (System.nanoTime() - t0) / 1e6;
                }) / L;
            }
            float[] x = s.embed(tokens(1, c.vocabSize()));
            head = median(reps + 2, () -> {
                long t0 = System.nanoTime();
                s.lastLogits(x, 1);
                return (System.nanoTime() - t0) / 1e6;
            });
        }
        int[] ids = tokens(128, c.vocabSize());
        double embed;
        try (Segment s = b.open(c.seqLen())) {
            embed = median(reps + 2, () -> {
                long t0 = System.nanoTime();
                s.embed(ids);
                return (System.nanoTime() - t0) / 1e6;
            }) / ids.length;
        }
        return new FormatProfile(f.id(), new Curve(toDouble(PREFILL_TOKENS), prefill), new Curve(toDouble(DECODE_CONTEXTS), decode), head,
                embed, residentBytes);
    }

    static CodecTiming profileCodec(Backend b, String label, CodecSpec spec, int reps) {
        LlamaConfig c = b.config();
        int d = c.dim(), maxT = Arrays.stream(CODEC_TOKENS).max().getAsInt();
        float[] hidden;
        try (Segment s = b.open(0, c.nLayers() / 2, c.seqLen())) {
            hidden = s.embed(tokens(maxT, c.vocabSize()));
            s.forward(hidden, maxT);
        }
        ActivationCodec codec = new ActivationCodec();
        OutlierChannels channels = spec.sessionChannels() ? OutlierChannels.select(hidden, maxT, d, spec.tau()) : null;
        double[] enc = new double[CODEC_TOKENS.length], dec = new double[CODEC_TOKENS.length];
        for (int i = 0; i < CODEC_TOKENS.length; i++) {
            int T = CODEC_TOKENS[i];
            float[] x = Arrays.copyOf(hidden, T * d);
            byte[][] held = new byte[1][];
            for (int w = 0; w < 3; w++) held[0] = codec.encode(spec, x, T, d, channels);
            enc[i] = median(reps + 2, () -> {
                long t0 = System.nanoTime();
                held[0] = codec.encode(spec, x, T, d, channels);
                return (System.nanoTime() - t0) / 1e6;
            });
            for (int w = 0; w < 3; w++) decode(codec, spec, held[0], T, d, channels);
            dec[i] = median(reps + 2, () -> {
                long t0 = System.nanoTime();
                decode(codec, spec, held[0], T, d, channels);
                return (System.nanoTime() - t0) / 1e6;
            });
        }
        double[] xs = toDouble(CODEC_TOKENS);
        return new CodecTiming(label, new Curve(xs, enc), new Curve(xs, dec), "probe");
    }

    private static float[] decode(ActivationCodec codec, CodecSpec spec, byte[] payload, int T, int d, OutlierChannels channels) {
        try {
            return codec.decode(spec, payload, T, d, channels);
        } catch (CorruptPayloadException e) {
            throw new IllegalStateException("the codec could not decode its own payload for " + spec + ": " + e.getMessage(), e);
        }
    }

    /** Something timed once, returning milliseconds. */
    interface Timed {
        double ms();
    }

    /** Median of {@code n} runs after one warm-up run. */
    static double median(int n, Timed t) {
        t.ms();
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = t.ms();
        Arrays.sort(v);
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private static double[] toDouble(int[] a) {
        return Arrays.stream(a).asDoubleStream().toArray();
    }
}
