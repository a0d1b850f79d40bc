package dev.splitllm.optimizer.profile;

/**
 * Activation-codec cost on one device: encode and decode milliseconds as a function of the
 * number of token rows T (for the model's width d).
 *
 * @param codec    codec spec string, or "*" for the device's default for any spec
 * @param encodeMs encode time vs T
 * @param decodeMs decode time vs T
 * @param source   "probe" (measured through the codec), "given" (configured) or "derived"
 */
public record CodecTiming(String codec, Curve encodeMs, Curve decodeMs, String source) {
    public CodecTiming {
        if (codec == null || codec.isBlank() || codec.length() > 256) {
            throw new IllegalArgumentException("codec timing: 'codec' must be 1..256 characters");
        }
        if (encodeMs == null || decodeMs == null) {
            throw new IllegalArgumentException("codec timing " + codec + ": missing encodeMs or decodeMs");
        }
        if (source == null || !(source.equals("probe") || source.equals("given") || source.equals("derived"))) {
            throw new IllegalArgumentException("codec timing " + codec + ": source must be probe, given or derived, got " + source);
        }
    }

    /** Zero cost for any codec (an idealised codec, e.g. before the codec is profiled). */
    public static CodecTiming free() {
        Curve zero = new Curve(new double[] {1}, new double[] {0});
        return new CodecTiming("*", zero, zero, "given");
    }
}
