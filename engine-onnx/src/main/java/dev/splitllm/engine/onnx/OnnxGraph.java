package dev.splitllm.engine.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.splitllm.engine.onnx.proto.Onnx;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * A small writer for an ONNX {@code GraphProto}: nodes with generated output names,
 * initializers as little-endian {@code raw_data}, typed graph inputs and outputs, and the
 * final {@code ModelProto} with its IR version and opset. It knows nothing about Llama;
 * {@link LlamaGraphBuilder} uses it.
 */
final class OnnxGraph {
    /** ONNX IR version written (IR 8 = ONNX 1.10+, read by every ONNX Runtime since 1.10). */
    static final long IR_VERSION = 8;
    /** Default-domain opset written. Operators are used with their opset-17 signatures. */
    static final long OPSET = 17;

    static final int FLOAT = Onnx.TensorProto.DataType.FLOAT_VALUE;
    static final int INT64 = Onnx.TensorProto.DataType.INT64_VALUE;
    static final int UINT8 = Onnx.TensorProto.DataType.UINT8_VALUE;
    /** ONNX Runtime's contrib-operator domain (MatMulNBits). */
    static final String MS_DOMAIN = "com.microsoft";

    private final Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder();
    private int counter;
    private long initializerBytes;
    private boolean usesMsDomain;

    OnnxGraph(String name) {
        graph.setName(name);
    }

    /** Adds a node with one output and returns the output's name. */
    String op(String opType, List<String> inputs, Onnx.AttributeProto... attributes) {
        return ops(opType, 1, inputs, attributes)[0];
    }

    /** Adds a node with {@code outputs} outputs named after the operator. */
    String[] ops(String opType, int outputs, List<String> inputs, Onnx.AttributeProto... attributes) {
        String[] names = new String[outputs];
        int id = counter++;
        for (int i = 0; i < outputs; i++) {
            names[i] = opType.toLowerCase(java.util.Locale.ROOT) + "_" + id + (outputs > 1 ? "_" + i : "");
        }
        node(opType, inputs, List.of(names), attributes);
        return names;
    }

    /** Adds a node of ONNX Runtime's {@value #MS_DOMAIN} domain with one output. */
    String msOp(String opType, List<String> inputs, Onnx.AttributeProto... attributes) {
        String out = opType.toLowerCase(java.util.Locale.ROOT) + "_" + (counter++);
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(opType).setDomain(MS_DOMAIN)
                .setName(opType + "_n" + (counter++)).addAllInput(inputs).addOutput(out);
        for (Onnx.AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        graph.addNode(n);
        usesMsDomain = true;
        return out;
    }

    /** Adds a node whose outputs get the given names (used for graph outputs). */
    void node(String opType, List<String> inputs, List<String> outputs, Onnx.AttributeProto... attributes) {
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder()
                .setOpType(opType).setName(opType + "_n" + (counter++))
                .addAllInput(inputs).addAllOutput(outputs);
        for (Onnx.AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        graph.addNode(n);
    }

    /** A float initializer from values[offset .. offset + product(dims)). */
    String floats(String name, long[] dims, float[] values, int offset) {
        long n = count(dims);
        byte[] bytes = new byte[Math.toIntExact(n * Float.BYTES)];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(values, offset, (int) n);
        return raw(name, dims, FLOAT, bytes);
    }

    /** An initializer whose little-endian bytes are already laid out. */
    String raw(String name, long[] dims, int dataType, byte[] littleEndian) {
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(dataType);
        for (long d : dims) {
            t.addDims(d);
        }
        // The array is not touched again after this call, so wrapping it without a copy is safe.
        ByteString data = UnsafeByteOperations.unsafeWrap(littleEndian);
        graph.addInitializer(t.setRawData(data));
        initializerBytes += littleEndian.length;
        return name;
    }

    /** A 1-D int64 constant (shapes, axes, indices). */
    String longs(long... values) {
        return longsShaped(new long[] {values.length}, values);
    }

    /** A 0-d (scalar) int64 constant. */
    String scalarLong(long value) {
        return longsShaped(new long[0], new long[] {value});
    }

    private String longsShaped(long[] dims, long[] values) {
        byte[] bytes = new byte[values.length * Long.BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().put(values);
        return raw("const_" + (counter++), dims, INT64, bytes);
    }

    /** A 0-d (scalar) float constant. */
    String scalarFloat(float value) {
        return floats("const_" + (counter++), new long[0], new float[] {value}, 0);
    }

    /**
     * Declares a graph input. Each dimension is a Long (fixed) or a String (symbolic, e.g. "T").
     */
    void input(String name, int elemType, Object... dims) {
        graph.addInput(valueInfo(name, elemType, dims));
    }

    /** Declares a graph output (see {@link #input} for dims). */
    void output(String name, int elemType, Object... dims) {
        graph.addOutput(valueInfo(name, elemType, dims));
    }

    /** Bytes of initializer payload added so far. */
    long initializerBytes() {
        return initializerBytes;
    }

    Onnx.ModelProto model(String docString) {
        Onnx.ModelProto.Builder m = Onnx.ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET));
        if (usesMsDomain) {
            m.addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain(MS_DOMAIN).setVersion(1));
        }
        return m
                .setProducerName("splitllm")
                .setProducerVersion("0.1")
                .setDocString(docString)
                .setGraph(graph)
                .build();
    }

    // ---- attributes ------------------------------------------------------------------------

    static Onnx.AttributeProto attr(String name, long value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT).setI(value).build();
    }

    static Onnx.AttributeProto attr(String name, float value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(value).build();
    }

    static Onnx.AttributeProto attrInts(String name, long... values) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    private static Onnx.ValueInfoProto valueInfo(String name, int elemType, Object... dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        for (Object d : dims) {
            Onnx.TensorShapeProto.Dimension.Builder dim = Onnx.TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number num) {
                dim.setDimValue(num.longValue());
            } else {
                dim.setDimParam(d.toString());
            }
            shape.addDim(dim);
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name)
                .setType(Onnx.TypeProto.newBuilder().setTensorType(
                        Onnx.TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
                .build();
    }

    private static long count(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}
