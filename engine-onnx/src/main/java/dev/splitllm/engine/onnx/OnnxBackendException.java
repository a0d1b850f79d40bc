package dev.splitllm.engine.onnx;

/** ONNX Runtime refused a model or failed a run; the message says which graph and step. */
public final class OnnxBackendException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public OnnxBackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
