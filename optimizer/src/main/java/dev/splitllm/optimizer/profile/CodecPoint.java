package dev.splitllm.optimizer.profile;

/**
 * One calibrated (split layer, codec setting) point: what the hidden state at the cut costs on
 * the wire and what the codec does to the model's output, measured through the real codec
 * with F32 weights against the unsplit F32 model.
 *
 * @param split                  blocks on the edge (the cut is after block split-1; 0 = after the embedding)
 * @param codec                  codec spec string (opaque to the optimizer, handed to the runtime)
 * @param prefillBitsPerElement  encoded bits per hidden element for a prefill frame of many tokens, side information included
 * @param decodeBitsPerElement   the same for one-token (decode) frames
 * @param agreement              teacher-forced top-1 agreement with the unsplit model, in [0, 1]
 * @param meanKl                 mean KL(fp32 ‖ split) of the next-token distribution, nats
 * @param deltaPpl               perplexity of the split model minus that of the unsplit model
 */
public record CodecPoint(int split, String codec, double prefillBitsPerElement, double decodeBitsPerElement, double agreement,
                         double meanKl, double deltaPpl) {
    /** The codec name used where nothing crosses the link (all-edge plans). */
    public static final String NONE = "none";

    public CodecPoint {
        if (split < 0 || split > 1024) {
            throw new IllegalArgumentException("calibration point: split must be in [0, 1024], got " + split);
        }
        if (codec == null || codec.isBlank() || codec.length() > 256 || codec.equals(NONE)) {
            throw new IllegalArgumentException("calibration point at split " + split + ": codec must be 1..256 characters and not \"none\"");
        }
        String where = "calibration point (split " + split + ", " + codec + "): ";
        if (!(prefillBitsPerElement > 0 && prefillBitsPerElement <= 64) || !(decodeBitsPerElement > 0 && decodeBitsPerElement <= 64)) {
            throw new IllegalArgumentException(where + "bits per element must be in (0, 64], got " + prefillBitsPerElement + " and "
                    + decodeBitsPerElement);
        }
        if (!(agreement >= 0 && agreement <= 1)) {
            throw new IllegalArgumentException(where + "agreement must be in [0, 1], got " + agreement);
        }
        if (!(meanKl >= 0) || !Double.isFinite(meanKl) || !Double.isFinite(deltaPpl)) {
            throw new IllegalArgumentException(where + "meanKl must be finite and >= 0 and deltaPpl finite");
        }
    }
}
