package dev.splitllm.engine.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.splitllm.engine.model.LayerWeights;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelFormat;
import dev.splitllm.engine.ModelFormatException;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelSource;
import dev.splitllm.engine.model.ModelWeights;
import dev.splitllm.engine.model.RopePermutation;
import dev.splitllm.engine.tensor.BF16Matrix;
import dev.splitllm.engine.tensor.F16Matrix;
import dev.splitllm.engine.tensor.F32Matrix;
import dev.splitllm.engine.tensor.WeightMatrix;
import dev.splitllm.engine.tokenizer.Tokenizer;
import dev.splitllm.quantization.Half;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face checkpoint directory as a {@link ModelSource}: {@code config.json}
 * ({@link HfConfig}) and safetensors weights in F32, F16 or BF16, either one file or shards
 * listed by {@code model.safetensors.index.json}. Llama/Mistral/Qwen2 tensor names
 * ({@code model.embed_tokens}, {@code model.layers.N.self_attn.q_proj} ..., {@code model.norm},
 * {@code lm_head}); q/k rows (and biases) are permuted from the rotate-half RoPE order to the
 * engine's consecutive pairs, as llama.cpp's converter does. The tokenizer comes from
 * {@link HfTokenizers}.
 */
public final class HfSource implements ModelSource {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final HfConfig hf;
    /** Tensor name to the shard holding it. */
    private final Map<String, SafetensorsFile> where = new HashMap<>();
    private final List<SafetensorsFile> shards = new ArrayList<>();
    private Tokenizer tokenizer;

    public HfSource(Path dir) throws IOException {
        this.dir = dir;
        this.hf = HfConfig.read(dir);
        try {
            openShards();
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** True when the file starts like a safetensors file (a sane header length, then '{'). */
    public static boolean looksLikeSafetensors(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() < 10) return false;
            ByteBuffer b = ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b) >= 0) { }
            long n = b.getLong(0);
            return n >= 2 && n <= SafetensorsFile.MAX_HEADER && n <= ch.size() - 8 && b.get(8) == '{';
        }
    }

    private void openShards() throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            if (Files.size(index) > (64 << 20)) {
                throw new ModelFormatException(index + ": too large for an index");
            }
            JsonNode map;
            try {
                map = JSON.readTree(Files.readAllBytes(index)).path("weight_map");
            } catch (IOException e) {
                throw new ModelFormatException(index + ": not valid JSON: " + e.getMessage());
            }
            if (!map.isObject()) {
                throw new ModelFormatException(index + ": no 'weight_map' object");
            }
            Map<String, SafetensorsFile> byFile = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String shardName = e.getValue().asText("");
                Path shard = dir.resolve(shardName).normalize();
                if (shardName.isEmpty() || !shard.startsWith(dir.normalize()) || shard.equals(dir.normalize())) {
                    throw new ModelFormatException(index + ": tensor '" + e.getKey() + "' names an invalid shard '" + shardName + "'");
                }
                SafetensorsFile f = byFile.get(shardName);
                if (f == null) {
                    f = SafetensorsFile.open(shard);
                    byFile.put(shardName, f);
                    shards.add(f);
                }
                if (!f.entries().containsKey(e.getKey())) {
                    throw new ModelFormatException(index + ": tensor '" + e.getKey() + "' is not in shard " + shardName);
                }
                where.put(e.getKey(), f);
            }
            return;
        }
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.safetensors")) {
            for (Path p : ds) files.add(p);
        }
        if (files.isEmpty()) {
            throw new ModelFormatException(dir + ": no model.safetensors.index.json and no .safetensors file");
        }
        files.sort(null);
        for (Path p : files) {
            SafetensorsFile f = SafetensorsFile.open(p);
            shards.add(f);
            for (String name : f.entries().keySet()) {
                if (where.put(name, f) != null) {
                    throw new ModelFormatException(dir + ": tensor '" + name + "' appears in more than one safetensors file");
                }
            }
        }
    }

    /** The checkpoint directory. */
    public Path directory() {
        return dir;
    }

    /** The parsed config.json. */
    public HfConfig hfConfig() {
        return hf;
    }

    @Override
    public ModelFormat format() {
        return ModelFormat.HF_SAFETENSORS;
    }

    @Override
    public LlamaConfig config() {
        return hf.config();
    }

    @Override
    public String architecture() {
        return hf.modelType();
    }

    @Override
    public ModelWeights load(ModelSlice slice) throws IOException {
        LlamaConfig c = hf.config();
        try {
            slice.checkAgainst(c.nLayers());
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(dir + ": " + e.getMessage());
        }
        int d = c.dim(), kv = c.kvDim(), h = c.hiddenDim(), v = c.vocabSize();
        boolean needTable = slice.withEmbedding() || (slice.withHead() && c.sharedClassifier());
        WeightMatrix emb = needTable ? matrix("model.embed_tokens.weight", v, d, 0) : null;
        LayerWeights[] layers = new LayerWeights[c.nLayers()];
        for (int l = slice.firstLayer(); l < slice.endLayer(); l++) {
            String p = "model.layers." + l + ".";
            boolean bias = hf.qkvBias();
            layers[l] = new LayerWeights(
                    vector(p + "input_layernorm.weight", d, 0),
                    matrix(p + "self_attn.q_proj.weight", d, d, c.nHeads()),
                    matrix(p + "self_attn.k_proj.weight", kv, d, c.nKvHeads()),
                    matrix(p + "self_attn.v_proj.weight", kv, d, 0),
                    matrix(p + "self_attn.o_proj.weight", d, d, 0),
                    vector(p + "post_attention_layernorm.weight", d, 0),
                    matrix(p + "mlp.gate_proj.weight", h, d, 0),
                    matrix(p + "mlp.down_proj.weight", d, h, 0),
                    matrix(p + "mlp.up_proj.weight", h, d, 0),
                    bias ? vector(p + "self_attn.q_proj.bias", d, c.nHeads()) : null,
                    bias ? vector(p + "self_attn.k_proj.bias", kv, c.nKvHeads()) : null,
                    bias ? vector(p + "self_attn.v_proj.bias", kv, 0) : null);
        }
        float[] rmsFinal = null;
        WeightMatrix cls = null;
        if (slice.withHead()) {
            rmsFinal = vector("model.norm.weight", d, 0);
            cls = c.sharedClassifier() ? emb : matrix("lm_head.weight", v, d, 0);
        }
        return new ModelWeights(c, slice, slice.withEmbedding() ? emb : null, layers, rmsFinal, cls);
    }

    private SafetensorsFile.Entry entry(String name, long rows, long cols) throws ModelFormatException {
        SafetensorsFile f = where.get(name);
        if (f == null) {
            throw new ModelFormatException(dir + ": missing tensor '" + name + "'");
        }
        SafetensorsFile.Entry e = f.entries().get(name);
        long[] s = e.shape();
        boolean ok = rows == 1 ? s.length == 1 && s[0] == cols : s.length == 2 && s[0] == rows && s[1] == cols;
        if (!ok) {
            throw new ModelFormatException(dir + ": tensor '" + name + "' has shape " + java.util.Arrays.toString(s)
                    + ", expected " + (rows == 1 ? "[" + cols + "]" : "[" + rows + ", " + cols + "]"));
        }
        if (!e.dtype().equals("F32") && !e.dtype().equals("F16") && !e.dtype().equals("BF16")) {
            throw new ModelFormatException(dir + ": tensor '" + name + "' has dtype " + e.dtype() + " (supported: F32, F16, BF16)");
        }
        return e;
    }

    private WeightMatrix matrix(String name, int rows, int cols, int ropeHeads) throws IOException {
        SafetensorsFile.Entry e = entry(name, rows, cols);
        ByteBuffer data = where.get(name).data(e);
        if (ropeHeads > 0) {
            data = RopePermutation.permuteRows(data, rows, (int) ((e.end() - e.begin()) / rows), ropeHeads);
        }
        int n = rows * cols;
        switch (e.dtype()) {
            case "F32": {
                float[] a = new float[n];
                data.asFloatBuffer().get(a);
                return new F32Matrix(a, rows, cols);
            }
            case "F16": {
                short[] a = new short[n];
                data.asShortBuffer().get(a);
                return new F16Matrix(a, rows, cols);
            }
            default: {
                short[] a = new short[n];
                data.asShortBuffer().get(a);
                return new BF16Matrix(a, rows, cols);
            }
        }
    }

    private float[] vector(String name, int n, int ropeHeads) throws IOException {
        SafetensorsFile.Entry e = entry(name, 1, n);
        ByteBuffer data = where.get(name).data(e);
        float[] out = new float[n];
        switch (e.dtype()) {
            case "F32": data.asFloatBuffer().get(out); break;
            case "F16": for (int i = 0; i < n; i++) out[i] = Half.toFloat(data.getShort(2 * i)); break;
            default: for (int i = 0; i < n; i++) out[i] = Half.bf16ToFloat(data.getShort(2 * i)); break;
        }
        return ropeHeads > 0 ? RopePermutation.permute(out, ropeHeads) : out;
    }

    @Override
    public synchronized Tokenizer tokenizer() throws IOException {
        if (tokenizer == null) {
            tokenizer = HfTokenizers.load(dir, hf);
        }
        return tokenizer;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafetensorsFile f : shards) {
            try {
                f.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
