package dev.splitllm.quantization.wire;

import dev.splitllm.quantization.codec.OutlierChannels;

/**
 * A decoded frame.
 *
 * @param header          the header fields
 * @param hidden          the decoded activations, T×d row-major (owned by the caller)
 * @param channels        the session outlier channels the payload was decoded with, or null when
 *                        the codec has no session channels
 * @param channelsInFrame true when this frame carried the channel list itself (the receiver stores it
 *                        as the session's set from now on)
 * @param draft           the drafted tokens of a DRAFT frame, else null
 */
public record Frame(FrameHeader header, float[] hidden, OutlierChannels channels, boolean channelsInFrame, Draft draft) {

    /** A PREFILL or DECODE frame. */
    public Frame(FrameHeader header, float[] hidden, OutlierChannels channels, boolean channelsInFrame) {
        this(header, hidden, channels, channelsInFrame, null);
    }
}
