package dev.splitllm.engine.forward;

import dev.splitllm.engine.kernels.ThreadTeam;
import dev.splitllm.engine.kernels.Kernels;
import dev.splitllm.engine.model.LlamaConfig;
import dev.splitllm.engine.model.ModelSlice;
import dev.splitllm.engine.model.ModelWeights;

/** The pure-Java engine as a {@link Backend}: one {@link Transformer}, a {@link SegmentState} per stream. */
public final class JavaBackend implements Backend {
    private final Transformer transformer;

    public JavaBackend(ModelWeights weights, Kernels kernels, ThreadTeam team) {
        this.transformer = new Transformer(weights, kernels, team);
    }

    public Transformer transformer() {
        return transformer;
    }

    @Override
    public LlamaConfig config() {
        return transformer.config();
    }

    @Override
    public ModelSlice slice() {
        return transformer.weights().slice();
    }

    @Override
    public Segment open(int firstLayer, int endLayer, int capacity) {
        return new JavaSegment(transformer, transformer.newState(firstLayer, endLayer, capacity));
    }

    @Override
    public String name() {
        return "java/" + transformer.kernels().name();
    }

    /** The state of a Java-engine segment (for {@link Transformer#forwardBatch}), or null for another backend's. */
    public static SegmentState stateOf(Segment segment) {
        return segment instanceof JavaSegment j ? j.state : null;
    }

    /** The transformer running a Java-engine segment, or null for another backend's. */
    public static Transformer transformerOf(Segment segment) {
        return segment instanceof JavaSegment j ? j.tf : null;
    }

    /** A Java-engine stream. */
    static final class JavaSegment implements Segment {
        private final Transformer tf;
        private final SegmentState state;

        JavaSegment(Transformer tf, SegmentState state) {
            this.tf = tf;
            this.state = state;
        }

        @Override
        public LlamaConfig config() {
            return tf.config();
        }

        @Override
        public int firstLayer() {
            return state.firstLayer();
        }

        @Override
        public int endLayer() {
            return state.endLayer();
        }

        @Override
        public boolean hasEmbedding() {
            return state.firstLayer() == 0 && tf.weights().tokenEmbedding() != null;
        }

        @Override
        public boolean hasHead() {
            return state.endLayer() == tf.config().nLayers() && tf.weights().classifier() != null;
        }

        @Override
        public int position() {
            return state.length();
        }

        @Override
        public int capacity() {
            return state.capacity();
        }

        @Override
        public float[] embed(int[] tokens) {
            return tf.embed(tokens);
        }

        @Override
        public void forward(float[] hidden, int tokens) {
            tf.forward(state, hidden, tokens);
        }

        @Override
        public void forwardAsSteps(float[] hidden, int tokens) {
            tf.forwardAsSteps(state, hidden, tokens);
        }

        @Override
        public float[] lastLogits(float[] hidden, int tokens) {
            if (!hasHead()) {
                throw new IllegalStateException("segment [" + firstLayer() + ", " + endLayer() + ") has no head");
            }
            return tf.lastLogits(hidden, tokens);
        }

        @Override
        public void truncate(int position) {
            state.truncate(position);
        }

        @Override
        public float[][][] exportKv(int from, int to, int positions) {
            return state.export(from, to, positions);
        }

        @Override
        public void loadKv(int from, float[][] keys, float[][] values, int positions) {
            state.load(from, keys, values, positions);
        }

        @Override
        public long kvBytes() {
            return state.kvBytes();
        }

        @Override
        public String backendName() {
            return "java/" + tf.kernels().name();
        }
    }
}
