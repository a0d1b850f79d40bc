package dev.splitllm.engine.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.splitllm.engine.forward.Segment;
import dev.splitllm.engine.model.LlamaConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One stream over blocks [firstLayer, endLayer) on ONNX Runtime. The KV cache stays inside
 * ORT: each block's {@code present_key_l}/{@code present_value_l} output tensors of one run
 * are fed back, unchanged, as the {@code past_key_l}/{@code past_value_l} inputs of the next,
 * and the previous run's tensors are released once the new run has succeeded. A failed run
 * therefore leaves the stream as it was.
 *
 * <p>Copied per call: the T x dim hidden state into ORT and back (two copies each way,
 * through a direct buffer), the T positions, and for {@link #lastLogits} one hidden row in
 * and the vocab logits out. Inside ORT, the {@code Concat} that appends the new rows copies
 * the whole past once per block and step (O(past) per step, like any past/present graph).
 * {@link #truncate} copies the kept rows once.
 *
 * <p>Not thread-safe: one stream, one caller at a time.
 */
public final class OnnxSegment implements Segment {
    private final OnnxBackend backend;
    private final LlamaConfig config;
    private final int firstLayer;
    private final int endLayer;
    private final int capacity;
    private final OrtSession blocks;
    private final OrtSession embedSession;
    private final OrtSession headSession;
    /** Current past tensors per block (index l - firstLayer). */
    private final OnnxTensor[] keys;
    private final OnnxTensor[] values;
    /** What owns the current past tensors: the last run's result, or tensors this segment made. */
    private OrtSession.Result kvResult;
    private final List<OnnxTensor> ownedKv = new ArrayList<>();
    private int position;
    private boolean closed;

    OnnxSegment(OnnxBackend backend, int firstLayer, int endLayer, int capacity,
                OrtSession blocks, OrtSession embedSession, OrtSession headSession) {
        this.backend = backend;
        this.config = backend.config();
        this.firstLayer = firstLayer;
        this.endLayer = endLayer;
        this.capacity = capacity;
        this.blocks = blocks;
        this.embedSession = embedSession;
        this.headSession = headSession;
        int layers = endLayer - firstLayer;
        this.keys = new OnnxTensor[layers];
        this.values = new OnnxTensor[layers];
        resetKv(0, null);
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    @Override
    public int firstLayer() {
        return firstLayer;
    }

    @Override
    public int endLayer() {
        return endLayer;
    }

    @Override
    public boolean hasEmbedding() {
        return embedSession != null;
    }

    @Override
    public boolean hasHead() {
        return headSession != null;
    }

    @Override
    public int position() {
        return position;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public float[] embed(int[] tokens) {
        checkOpen();
        if (embedSession == null) {
            throw new IllegalStateException("segment [" + firstLayer + ", " + endLayer + ") has no token embedding");
        }
        if (tokens == null || tokens.length == 0 || tokens.length > config.seqLen()) {
            throw new IllegalArgumentException("need 1 to " + config.seqLen() + " token ids, got " + (tokens == null ? "null" : tokens.length));
        }
        long[] ids = new long[tokens.length];
        for (int t = 0; t < tokens.length; t++) {
            int id = tokens[t];
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
            ids[t] = id;
        }
        float[] out = new float[tokens.length * config.dim()];
        try (OnnxTensor in = OnnxTensor.createTensor(backend.env(), LongBuffer.wrap(ids), new long[] {ids.length});
             OrtSession.Result r = embedSession.run(Map.of(OnnxGraphSpec.TOKENS, in))) {
            copyOut(r, OnnxGraphSpec.HIDDEN_OUT, out, out.length);
        } catch (OrtException e) {
            throw new OnnxBackendException("ONNX Runtime embedding failed: " + e.getMessage(), e);
        }
        return out;
    }

    @Override
    public void forward(float[] hidden, int tokens) {
        checkOpen();
        int d = config.dim();
        if (tokens <= 0 || hidden == null || hidden.length < (long) tokens * d) {
            throw new IllegalArgumentException("hidden state holds " + (hidden == null ? 0 : hidden.length) + " floats, need " + tokens + " x " + d);
        }
        if ((long) position + tokens > capacity) {
            throw new IllegalArgumentException("context full: " + position + " + " + tokens + " positions exceed capacity " + capacity);
        }
        if (blocks == null) {
            position += tokens; // an empty layer range passes the hidden state through
            return;
        }
        int n = tokens * d;
        long[] pos = new long[tokens];
        for (int t = 0; t < tokens; t++) {
            pos[t] = position + t;
        }
        OrtSession.Result result = null;
        try (OnnxTensor in = OnnxTensor.createTensor(backend.env(), FloatBuffer.wrap(hidden, 0, n), new long[] {tokens, d});
             OnnxTensor positions = OnnxTensor.createTensor(backend.env(), LongBuffer.wrap(pos), new long[] {tokens})) {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            inputs.put(OnnxGraphSpec.HIDDEN, in);
            inputs.put(OnnxGraphSpec.POSITIONS, positions);
            for (int l = firstLayer; l < endLayer; l++) {
                inputs.put(OnnxGraphSpec.pastKey(l), keys[l - firstLayer]);
                inputs.put(OnnxGraphSpec.pastValue(l), values[l - firstLayer]);
            }
            result = blocks.run(inputs);
            OnnxTensor[] newKeys = new OnnxTensor[keys.length];
            OnnxTensor[] newValues = new OnnxTensor[values.length];
            for (int l = firstLayer; l < endLayer; l++) {
                newKeys[l - firstLayer] = tensor(result, OnnxGraphSpec.presentKey(l));
                newValues[l - firstLayer] = tensor(result, OnnxGraphSpec.presentValue(l));
            }
            float[] out = new float[n];
            copyOut(result, OnnxGraphSpec.HIDDEN_OUT, out, n);
            // Success: adopt the new cache, release the old one, then write the hidden state back.
            releaseKv();
            System.arraycopy(newKeys, 0, keys, 0, keys.length);
            System.arraycopy(newValues, 0, values, 0, values.length);
            kvResult = result;
            result = null;
            System.arraycopy(out, 0, hidden, 0, n);
            position += tokens;
        } catch (OrtException e) {
            throw new OnnxBackendException("ONNX Runtime failed on blocks [" + firstLayer + ", " + endLayer + ") at position "
                    + position + " with " + tokens + " tokens: " + e.getMessage(), e);
        } finally {
            if (result != null) {
                result.close();
            }
        }
    }

    @Override
    public float[] lastLogits(float[] hidden, int tokens) {
        checkOpen();
        if (headSession == null) {
            throw new IllegalStateException("segment [" + firstLayer + ", " + endLayer + ") has no head");
        }
        int d = config.dim();
        if (tokens <= 0 || hidden == null || hidden.length < (long) tokens * d) {
            throw new IllegalArgumentException("hidden state holds " + (hidden == null ? 0 : hidden.length) + " floats, need " + tokens + " x " + d);
        }
        float[] logits = new float[config.vocabSize()];
        try (OnnxTensor in = OnnxTensor.createTensor(backend.env(), FloatBuffer.wrap(hidden, (tokens - 1) * d, d), new long[] {1, d});
             OrtSession.Result r = headSession.run(Map.of(OnnxGraphSpec.HIDDEN, in))) {
            copyOut(r, OnnxGraphSpec.LOGITS, logits, logits.length);
        } catch (OrtException e) {
            throw new OnnxBackendException("ONNX Runtime head failed: " + e.getMessage(), e);
        }
        return logits;
    }

    @Override
    public void truncate(int newPosition) {
        checkOpen();
        if (newPosition < 0 || newPosition > position) {
            throw new IllegalArgumentException("cannot truncate a cache of length " + position + " to " + newPosition);
        }
        if (newPosition == position) {
            return;
        }
        resetKv(newPosition, this::rowsOf);
        position = newPosition;
    }

    /** Copy of block {@code layer}'s cached keys for positions [0, position()), row-major [position x kvDim]. */
    public float[] keysOf(int layer) {
        checkOpen();
        return rowsOf(keys[index(layer)], position);
    }

    /** Copy of block {@code layer}'s cached values, like {@link #keysOf}. */
    public float[] valuesOf(int layer) {
        checkOpen();
        return rowsOf(values[index(layer)], position);
    }

    /** Bytes of KV cache at full capacity (the bound the cache grows to; ORT briefly holds past and present during a step). */
    @Override
    public long kvBytes() {
        return 2L * (endLayer - firstLayer) * capacity * config.kvDim() * Float.BYTES;
    }

    @Override
    public String backendName() {
        return backend.name();
    }

    /** Releases the cached KV tensors. The shared sessions stay with the backend. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            releaseKv();
        }
    }

    // ---- internals -------------------------------------------------------------------------

    private interface RowSource {
        float[] rows(OnnxTensor t, int count);
    }

    /** Replaces the cache by tensors of {@code rows} positions (copied from the current ones when source != null). */
    private void resetKv(int rows, RowSource source) {
        int kvDim = config.kvDim();
        OnnxTensor[] nk = new OnnxTensor[keys.length];
        OnnxTensor[] nv = new OnnxTensor[values.length];
        List<OnnxTensor> made = new ArrayList<>();
        try {
            for (int i = 0; i < keys.length; i++) {
                nk[i] = directTensor(source == null ? new float[0] : source.rows(keys[i], rows), rows, kvDim);
                made.add(nk[i]);
                nv[i] = directTensor(source == null ? new float[0] : source.rows(values[i], rows), rows, kvDim);
                made.add(nv[i]);
            }
        } catch (OrtException e) {
            made.forEach(OnnxTensor::close);
            throw new OnnxBackendException("could not allocate the KV cache tensors: " + e.getMessage(), e);
        }
        releaseKv();
        System.arraycopy(nk, 0, keys, 0, keys.length);
        System.arraycopy(nv, 0, values, 0, values.length);
        ownedKv.addAll(made);
    }

    private OnnxTensor directTensor(float[] data, int rows, int cols) throws OrtException {
        FloatBuffer buf = ByteBuffer.allocateDirect(data.length * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
        buf.put(data).rewind();
        return OnnxTensor.createTensor(backend.env(), buf, new long[] {rows, cols});
    }

    private void releaseKv() {
        if (kvResult != null) {
            kvResult.close();
            kvResult = null;
        }
        ownedKv.forEach(OnnxTensor::close);
        ownedKv.clear();
    }

    private float[] rowsOf(OnnxTensor t, int count) {
        float[] out = new float[count * config.kvDim()];
        t.getFloatBuffer().get(out);
        return out;
    }

    private int index(int layer) {
        if (layer < firstLayer || layer >= endLayer) {
            throw new IllegalArgumentException("layer " + layer + " is outside the segment [" + firstLayer + ", " + endLayer + ")");
        }
        return layer - firstLayer;
    }

    private static OnnxTensor tensor(OrtSession.Result r, String name) {
        OnnxValue v = r.get(name).orElseThrow(() -> new IllegalStateException("ONNX graph has no output " + name));
        return (OnnxTensor) v;
    }

    private static void copyOut(OrtSession.Result r, String name, float[] out, int n) {
        FloatBuffer fb = tensor(r, name).getFloatBuffer();
        if (fb.remaining() != n) {
            throw new IllegalStateException("ONNX output " + name + " has " + fb.remaining() + " floats, expected " + n);
        }
        fb.get(out, 0, n);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("segment is closed");
        }
        backend.checkOpen();
    }
}
