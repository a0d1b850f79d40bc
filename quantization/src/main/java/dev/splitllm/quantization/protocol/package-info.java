/**
 * The control-plane messages between an edge agent and the cloud server, as plain records
 * serialized to JSON: the REST bodies of session creation and plain completion, and the text
 * messages the cloud sends down a session's WebSocket (and the edge's optional timing message up
 * it). Hidden states travel up the same WebSocket as binary frames ({@link dev.splitllm.quantization.wire}).
 *
 * <p>Everything that crosses the link is one of these types or a binary frame; nothing else.
 */
package dev.splitllm.quantization.protocol;
